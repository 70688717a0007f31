"""The English stop words of PostgreSQL's ``english`` text-search configuration.

PostgreSQL's plain index (``to_tsvector('english', …)``) leaves these words out, and its
queries drop them (``'that'`` alone matches nothing; ``that OR bank`` is ``bank``; in a phrase
they only keep their place). An encrypted store's blind index cannot ask PostgreSQL, which sees
keyed hashes, so :mod:`allsource.store.postgres` drops whole query terms made only of these
words itself before hashing — the same answers as the plain store, and none of the near-every-
row candidate sets such a word would otherwise give a blind query.

The list is the Snowball project's English stop list (BSD licence) that PostgreSQL ships as
``$SHAREDIR/tsearch_data/english.stop`` (127 words; copied from PostgreSQL 15, the version
tested here); it is data, written here because the database may be on another machine.
"""

from __future__ import annotations

ENGLISH: frozenset[str] = frozenset({
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours",
    "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself",
    "it", "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which",
    "who", "whom", "this", "that", "these", "those", "am", "is", "are", "was", "were", "be",
    "been", "being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an",
    "the", "and", "but", "if", "or", "because", "as", "until", "while", "of", "at", "by",
    "for", "with", "about", "against", "between", "into", "through", "during", "before",
    "after", "above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over",
    "under", "again", "further", "then", "once", "here", "there", "when", "where", "why",
    "how", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "no",
    "nor", "not", "only", "own", "same", "so", "than", "too", "very", "s", "t", "can", "will",
    "just", "don", "should", "now",
})
