"""Document readers: a runbook's bytes (Markdown, text, PDF, DOCX) into a `ParsedDocument`
(`documents.read_document` is the one entry point), within the limits of `limits`, then into
search chunks (`chunking`)."""
