"""Cards: series, issue to customers, card status, card custom/extended fields."""
