"""The same story from different sources is recognised; different stories are not merged."""

from __future__ import annotations

import pytest

from socialhub.feed.ingest import (
    hamming_distance,
    is_near_duplicate,
    NEAR_DUPLICATE_BITS,
    SAME_STORY_SIMILARITY,
    story_fingerprint,
    story_similarity,
)

MACBOOK_A = ("Apple unveils new MacBook Pro with M4 chip and longer battery life",
             "Apple on Tuesday unveiled new MacBook Pro laptops powered by its M4 chip, promising "
             "up to 24 hours of battery life and a brighter display. The laptops start at $1,599 "
             "and ship next week.")
MACBOOK_B = ("Apple announces M4 MacBook Pro with longer battery life",
             "Apple announced new MacBook Pro laptops powered by the M4 chip on Tuesday, promising "
             "up to 24 hours of battery life and a brighter display. Prices start at $1,599, "
             "shipping next week.")
IPAD = ("Apple unveils new iPad Air with M2 chip and bigger screen",
        "Apple on Tuesday unveiled a new iPad Air powered by its M2 chip, adding a 13-inch model "
        "for the first time. The tablets start at $599 and ship next week.")
QUAKE_A = ("Magnitude 7.4 earthquake strikes off Taiwan's east coast, tsunami warning issued",
           "A powerful magnitude 7.4 earthquake struck off Taiwan's eastern coast on Wednesday "
           "morning, damaging buildings in Hualien and triggering tsunami warnings for southern "
           "Japan and the Philippines.")
QUAKE_B = ("Powerful 7.4 quake hits Taiwan, tsunami warnings for Japan and Philippines",
           "A magnitude 7.4 earthquake struck off the eastern coast of Taiwan on Wednesday "
           "morning, damaging buildings in Hualien and prompting tsunami warnings in southern "
           "Japan and the Philippines.")
QUAKE_CHILE = ("Magnitude 6.1 earthquake hits central Chile, no tsunami threat",
               "A magnitude 6.1 earthquake shook central Chile on Monday evening, the country's "
               "seismological centre said, with no immediate reports of damage and no tsunami "
               "threat.")
GPT_A = ("OpenAI releases GPT-5 to all ChatGPT users",
         "OpenAI said on Thursday it is rolling out GPT-5, its newest model, to all ChatGPT "
         "users, including those on the free tier, with higher limits for paying subscribers.")
GPT_B = ("GPT-5 is rolling out to every ChatGPT user, OpenAI says",
         "OpenAI is rolling out GPT-5, its newest model, to all ChatGPT users on Thursday, "
         "including the free tier, while paying subscribers get higher usage limits.")
GEMINI = ("Google releases Gemini 2.5 to all Workspace users",
          "Google said on Thursday it is rolling out Gemini 2.5 to all Workspace customers, "
          "including business starter plans, with higher limits for enterprise subscribers.")
PYTHON_A = ("Python 3.13 released with experimental free-threaded mode and a new REPL",
            "The Python Software Foundation has released Python 3.13, which ships an experimental "
            "free-threaded build without the global interpreter lock, a new interactive REPL and "
            "a preliminary JIT compiler.")
PYTHON_B = ("Python 3.13 is out: free-threaded build, new interactive REPL and JIT",
            "Python 3.13 has been released by the Python Software Foundation. It ships an "
            "experimental free-threaded build without the global interpreter lock, a new "
            "interactive REPL and a preliminary JIT compiler.")
RUST = ("Rust 1.80 released with LazyCell and exclusive range patterns",
        "The Rust team has released Rust 1.80, which stabilises LazyCell and LazyLock, exclusive "
        "range patterns and checked cfg names and values.")
OUTAGE_A = ("CrowdStrike update causes global Windows outage, grounding flights",
            "A faulty CrowdStrike software update crashed millions of Windows computers worldwide "
            "on Friday, grounding flights, taking broadcasters off air and disrupting hospitals "
            "and banks.")
OUTAGE_B = ("Global IT outage: faulty CrowdStrike update crashes Windows PCs",
            "Millions of Windows computers crashed worldwide on Friday after a faulty software "
            "update from CrowdStrike, grounding flights and disrupting banks, hospitals and "
            "broadcasters.")
AWS = ("AWS outage takes down popular websites and apps",
       "An outage in Amazon Web Services' US-East-1 region took down websites and apps including "
       "Slack, Disney+ and Venmo for several hours on Tuesday.")
FINES_A = ("EU fines Google €2.4 billion for abusing shopping search dominance",
           "The European Commission fined Google a record €2.4 billion on Tuesday for favouring "
           "its own shopping comparison service in search results.")
FINES_B = ("Google hit with record €2.4bn EU fine over shopping searches",
           "Google was fined a record €2.4 billion by the European Commission on Tuesday for "
           "favouring its own comparison shopping service in search results.")
FINES_APPLE = ("EU fines Apple €1.8 billion over music streaming rules",
               "The European Commission fined Apple €1.8 billion on Monday for stopping music "
               "streaming services such as Spotify from telling users about cheaper offers "
               "outside its App Store.")
FOOTBALL = ("Champions League final: Real Madrid beat Dortmund 2-0",
            "Real Madrid won their 15th European Cup at Wembley on Saturday, beating Borussia "
            "Dortmund 2-0 with late goals from Carvajal and Vinicius.")

SAME_STORY = [
    (MACBOOK_A, MACBOOK_B),
    (QUAKE_A, QUAKE_B),
    (GPT_A, GPT_B),
    (PYTHON_A, PYTHON_B),
    (OUTAGE_A, OUTAGE_B),
    (FINES_A, FINES_B),
]
DIFFERENT_STORIES = [
    (MACBOOK_A, IPAD),  # same company, same day, same phrasing, different product
    (QUAKE_A, QUAKE_CHILE),  # same kind of event, different place
    (GPT_A, GEMINI),  # same template of announcement
    (PYTHON_A, RUST),
    (OUTAGE_A, AWS),
    (FINES_A, FINES_APPLE),
    (MACBOOK_A, FOOTBALL),
]


@pytest.mark.parametrize(("a", "b"), SAME_STORY, ids=lambda s: s[0][:30])
def test_same_story_from_two_sources_is_a_near_duplicate(a, b):
    fa, fb = story_fingerprint(*a), story_fingerprint(*b)

    assert is_near_duplicate(fa, fb)
    assert story_similarity(*a, *b) >= SAME_STORY_SIMILARITY


@pytest.mark.parametrize(("a", "b"), DIFFERENT_STORIES, ids=lambda s: s[0][:30])
def test_different_stories_on_the_same_topic_are_not_near_duplicates(a, b):
    fa, fb = story_fingerprint(*a), story_fingerprint(*b)

    assert not is_near_duplicate(fa, fb)
    assert story_similarity(*a, *b) < SAME_STORY_SIMILARITY


def test_a_syndicated_copy_with_a_site_suffix_is_almost_identical():
    title, text = OUTAGE_A

    copy = story_fingerprint(f"{title} | Tech Wire", text + " Read more.")

    assert hamming_distance(story_fingerprint(title, text), copy) <= 3


def test_fingerprint_is_stable_signed_64_bit_and_ignores_case_and_punctuation():
    fingerprint = story_fingerprint(*MACBOOK_A)

    assert fingerprint == story_fingerprint(*MACBOOK_A)
    assert -(2**63) <= fingerprint < 2**63
    assert story_fingerprint(MACBOOK_A[0].upper() + "!!", MACBOOK_A[1]) == fingerprint


def test_empty_story_has_no_fingerprint_and_matches_nothing():
    assert story_fingerprint("", "") == 0
    assert story_fingerprint("The", "and of the") == 0
    assert not is_near_duplicate(0, 0)


def test_threshold_is_adjustable():
    fa, fb = story_fingerprint(*MACBOOK_A), story_fingerprint(*MACBOOK_B)
    distance = hamming_distance(fa, fb)

    assert 0 < distance <= NEAR_DUPLICATE_BITS
    assert is_near_duplicate(fa, fb, threshold=distance)
    assert not is_near_duplicate(fa, fb, threshold=distance - 1)
