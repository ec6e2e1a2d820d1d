"""Type families: one small vocabulary over every engine's own type text.

The source's type text (`numeric(12,2)`, `int(11) unsigned`, `STRUCT(a INT)`) is kept as is in
`data_type`; `type_family` says what kind of values it holds, so profiling and the app can treat
columns alike across engines. Parsing is sqlglot's, per dialect; SQLite's type affinity rules
apply to names sqlglot does not know.
"""

from __future__ import annotations

from functools import lru_cache

FAMILIES = (
    "integer", "decimal", "float", "boolean", "string", "binary", "date", "time", "timestamp",
    "interval", "uuid", "json", "enum", "array", "struct", "map", "geometry", "xml", "other",
)

_BY_NAME = {
    "integer": "BIT TINYINT UTINYINT SMALLINT USMALLINT MEDIUMINT UMEDIUMINT INT UINT BIGINT UBIGINT "
    "INT128 UINT128 INT256 UINT256 SERIAL SMALLSERIAL BIGSERIAL HUGEINT UHUGEINT YEAR",
    "decimal": "DECIMAL UDECIMAL DECIMAL32 DECIMAL64 DECIMAL128 DECIMAL256 BIGDECIMAL MONEY SMALLMONEY NUMERIC",
    "float": "FLOAT DOUBLE UDOUBLE REAL",
    "boolean": "BOOLEAN",
    "string": "CHAR NCHAR VARCHAR NVARCHAR TEXT MEDIUMTEXT LONGTEXT TINYTEXT NAME BPCHAR CITEXT STRING",
    "binary": "BINARY VARBINARY BLOB MEDIUMBLOB LONGBLOB TINYBLOB BYTEA IMAGE",
    "date": "DATE DATE32",
    "time": "TIME TIMETZ",
    "timestamp": "DATETIME DATETIME2 DATETIME64 TIMESTAMP TIMESTAMPTZ TIMESTAMPLTZ TIMESTAMPNTZ "
    "TIMESTAMP_S TIMESTAMP_MS TIMESTAMP_NS SMALLDATETIME DATETIMEOFFSET",
    "interval": "INTERVAL",
    "uuid": "UUID UNIQUEIDENTIFIER",
    "json": "JSON JSONB VARIANT",
    "enum": "ENUM ENUM8 ENUM16 SET",
    "array": "ARRAY LIST",
    "struct": "STRUCT OBJECT NESTED UNION",
    "map": "MAP",
    "geometry": "GEOMETRY GEOGRAPHY POINT LINESTRING POLYGON MULTIPOINT MULTILINESTRING MULTIPOLYGON RING",
    "xml": "XML",
}
_FAMILY_OF = {name: family for family, names in _BY_NAME.items() for name in names.split()}

# Names sqlglot does not parse, by the first word of the type text (lower case).
_EXTRA = {
    "tsvector": "string", "tsquery": "string", "inet": "string", "cidr": "string", "macaddr": "string",
    "macaddr8": "string", "ltree": "string", "citext": "string", "hstore": "map", "oid": "integer",
    "regclass": "string", "bit": "binary", "varbit": "binary", "box": "geometry", "circle": "geometry",
    "line": "geometry", "lseg": "geometry", "path": "geometry", "polygon": "geometry", "point": "geometry",
    "geometry": "geometry", "geography": "geometry", "int4range": "other", "daterange": "other",
    "interval": "interval",  # sqlglot does not parse Postgres field restrictions: interval day to second(2)
}


@lru_cache(maxsize=4096)
def type_family(data_type: str | None, dialect: str | None = None) -> str:
    if not data_type:
        return "other"
    text = data_type.strip()
    lowered = text.lower()
    if lowered.endswith("[]") or lowered.startswith("array"):
        return "array"
    first = lowered.split("(")[0].split()[0] if lowered.split() else lowered
    if first in _EXTRA:
        return _EXTRA[first]
    from sqlglot import exp  # here: importing sqlglot costs more than most scans' type lookups

    try:
        parsed = exp.DataType.build(text, dialect=dialect)
        family = _FAMILY_OF.get(parsed.this.name)
        if family:
            return family
    except Exception:
        pass
    if dialect == "sqlite":
        return _sqlite_affinity(lowered)
    return "other"


def _sqlite_affinity(t: str) -> str:
    """SQLite's rules (https://sqlite.org/datatype3.html section 3.1), with dates recognised."""
    if "int" in t:
        return "integer"
    if any(k in t for k in ("char", "clob", "text")):
        return "string"
    if "blob" in t or not t:
        return "binary"
    if any(k in t for k in ("real", "floa", "doub")):
        return "float"
    if "bool" in t:
        return "boolean"
    if "timestamp" in t or "datetime" in t:
        return "timestamp"
    if "date" in t:
        return "date"
    return "decimal"
