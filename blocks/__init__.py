"""One Prefect Block per external system: settings, secrets and a client; protocols stay in here."""
