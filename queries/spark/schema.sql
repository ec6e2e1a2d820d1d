-- One database's comment, location, owner and properties ({schema}: its quoted name).
DESCRIBE DATABASE EXTENDED {schema}
