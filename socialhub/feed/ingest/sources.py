"""Well-known public feeds offered to a new reader on first use (just data, fetched on demand)."""

from __future__ import annotations

from typing import NamedTuple


class SuggestedSource(NamedTuple):
    name: str
    feed_url: str
    category: str


SUGGESTED_SOURCES: tuple[SuggestedSource, ...] = (
    # Tech
    SuggestedSource("Hacker News", "https://news.ycombinator.com/rss", "Tech"),
    SuggestedSource("Ars Technica", "https://feeds.arstechnica.com/arstechnica/index", "Tech"),
    SuggestedSource("The Verge", "https://www.theverge.com/rss/index.xml", "Tech"),
    SuggestedSource("TechCrunch", "https://techcrunch.com/feed/", "Tech"),
    SuggestedSource("Wired", "https://www.wired.com/feed/rss", "Tech"),
    SuggestedSource("MIT Technology Review", "https://www.technologyreview.com/feed/", "Tech"),
    SuggestedSource("Engadget", "https://www.engadget.com/rss.xml", "Tech"),
    SuggestedSource("The GitHub Blog", "https://github.blog/feed/", "Tech"),
    SuggestedSource("Lobsters", "https://lobste.rs/rss", "Tech"),
    SuggestedSource("Simon Willison", "https://simonwillison.net/atom/everything/", "Tech"),
    SuggestedSource("Daring Fireball", "https://daringfireball.net/feeds/main", "Tech"),
    # News
    SuggestedSource("BBC News", "https://feeds.bbci.co.uk/news/rss.xml", "News"),
    SuggestedSource(
        "BBC News – Technology", "https://feeds.bbci.co.uk/news/technology/rss.xml", "News"
    ),
    SuggestedSource("The Guardian – World", "https://www.theguardian.com/world/rss", "News"),
    SuggestedSource("NPR News", "https://feeds.npr.org/1001/rss.xml", "News"),
    SuggestedSource(
        "The New York Times", "https://rss.nytimes.com/services/xml/rss/nyt/HomePage.xml", "News"
    ),
    SuggestedSource("Al Jazeera", "https://www.aljazeera.com/xml/rss/all.xml", "News"),
    # Creators, marketing and the web
    SuggestedSource("Social Media Examiner", "https://www.socialmediaexaminer.com/feed/",
                    "Creators"),
    SuggestedSource("HubSpot Marketing Blog", "https://blog.hubspot.com/marketing/rss.xml",
                    "Creators"),
    SuggestedSource("Nieman Lab", "https://www.niemanlab.org/feed/", "Creators"),
    SuggestedSource("Seth Godin", "https://seths.blog/feed/", "Creators"),
    SuggestedSource("Smashing Magazine", "https://www.smashingmagazine.com/feed/", "Creators"),
    SuggestedSource("Kottke.org", "https://feeds.kottke.org/main", "Creators"),
    SuggestedSource("xkcd", "https://xkcd.com/atom.xml", "Creators"),
)
