-- The dialect DuckDB detects in a CSV file.
SELECT Delimiter AS delimiter, Quote AS quote, Escape AS escape, HasHeader AS has_header,
       NewLineDelimiter AS newline, SkipRows AS skip_rows, DateFormat AS date_format,
       TimestampFormat AS timestamp_format
FROM sniff_csv($1)
