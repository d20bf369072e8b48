"""Domain-free helpers. Nothing in kit imports a feature package."""
