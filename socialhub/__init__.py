"""SocialHub: feed, remix, chat, schedule and analytics in one self-hostable Python app."""
