"""The scheduler process: APScheduler 3 running SocialHub's background jobs. Never imports reflex."""
