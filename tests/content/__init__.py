"""Golden patients and artifact tests for the BME content (plugin/content)."""
