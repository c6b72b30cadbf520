"""Generic widgets and the app shell. Components read state vars; they hold no logic."""
