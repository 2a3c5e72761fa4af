"""Which agent answers each skill: in-process handles or A2A clients (`directory`), the
registry of remote agents (`registry`, kept in `store`, cards fetched through the SSRF guard
of `fetch`), and the A2A client handle (`a2a_client`)."""
