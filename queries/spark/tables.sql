-- Every table and view of one database at once: type, provider, location, owner, comment,
-- properties, partition columns, statistics and view text, in each row's `information` text.
SHOW TABLE EXTENDED IN {schema} LIKE '*'
