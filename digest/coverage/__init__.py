"""Coverage of talks and events from pasted links: metadata extraction and the fetch service."""
