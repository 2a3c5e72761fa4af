"""KQL validity: every KQL text LexiQuery writes, checked by the official Kusto parser."""
