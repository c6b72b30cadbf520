"""Every table of every package, imported here so SQLModel.metadata (and Alembic) sees them all."""

from socialhub.identity.models import (
    AuthSession,
    Invite,
    LoginAttempt,
    LoginTicket,
    ProviderKey,
    Team,
    TeamMember,
    User,
)
from socialhub.feed.models import (
    Digest,
    DigestDelivery,
    DigestItem,
    FeedEntry,
    FeedItem,
    FeedItemState,
    FeedRule,
    FeedScore,
    FeedSettings,
    FeedSource,
)
from socialhub.core.models import Email
from socialhub.identity.models import Notification
from socialhub.media.models import Media
from socialhub.channels.models import OAuthState, PlatformAccount, PlatformApp
from socialhub.schedule.models import (
    Post,
    PostActivity,
    PostComment,
    PostMedia,
    PostTarget,
    PostVariant,
    PublishAttempt,
    PublishSend,
    TimeSlot,
)
from socialhub.schedule.hub.models import Follow, Profile, SocialPost
from socialhub.remix.models import Ad, Brand, Remix, RemixComment, RemixJob, RemixLike, RemixSignal  # noqa: F401
from socialhub.chat.models import (  # noqa: F401
    ChatConversation, ChatDevice, ChatEpoch, ChatHidden, ChatMember, ChatMessage, ChatReaction, ChatSettings, ChatWrappedKey,
)
from socialhub.core.models import AppFlag, SchedulerHeartbeat

__all__ = [
    "AppFlag",
    "AuthSession",
    "Digest",
    "DigestDelivery",
    "DigestItem",
    "Email",
    "FeedEntry",
    "FeedItem",
    "FeedItemState",
    "FeedRule",
    "FeedScore",
    "FeedSettings",
    "FeedSource",
    "Follow",
    "Invite",
    "LoginAttempt",
    "LoginTicket",
    "Media",
    "Notification",
    "OAuthState",
    "PlatformAccount",
    "PlatformApp",
    "Post",
    "PostActivity",
    "PostComment",
    "PostMedia",
    "PostTarget",
    "PostVariant",
    "Profile",
    "PublishAttempt",
    "PublishSend",
    "SocialPost",
    "TimeSlot",
    "ProviderKey",
    "SchedulerHeartbeat",
    "Team",
    "TeamMember",
    "User",
]
