"""The analyst web workspace: server-rendered pages (Jinja2, autoescaped) with a little htmx.

The REST app mounts :data:`allsource.web.routes.router` at ``/``. Pages: login/logout,
search (grouped by story, with facets), a document with its highlighted mentions, grade and
story, and alert triage. How sessions, CSRF and the security headers work is explained in
:mod:`allsource.web.security`; how mentions are highlighted without ever pasting ingested text
into HTML, in :mod:`allsource.web.highlight`.
"""
