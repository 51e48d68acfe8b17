"""Why we disagree with the Java validator on a case (filled in after analysis)."""

REASONS: dict[str, str] = {}
