"""Local stand-ins for the external systems, speaking the real protocols over loopback."""
