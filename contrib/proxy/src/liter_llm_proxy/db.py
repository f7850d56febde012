"""Storage: virtual keys, the spend log and the owners of files, batches and responses (SQLAlchemy 2, async).

SQLite (aiosqlite) by default, PostgreSQL (asyncpg) by URL.  The schema is
created and migrated by the proxy itself at start-up: ``proxy_schema`` holds
the version reached, and each migration in :data:`MIGRATIONS` runs once, in
order, in one transaction (on PostgreSQL under an advisory lock, so instances
starting together do not race).
"""

from __future__ import annotations

import operator
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as _pg_insert
from sqlalchemy.dialects.sqlite import insert as _sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from liter_llm.config import redact_url
from liter_llm.errors import BadRequestError, ServiceUnavailableError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Store", "keys", "objects", "schema", "spend_log"]

metadata = sa.MetaData()

schema = sa.Table("proxy_schema", metadata, sa.Column("version", sa.Integer, nullable=False))

keys = sa.Table(
    "proxy_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("key_hint", sa.String(32), nullable=False),
    sa.Column("name", sa.String(200)),
    sa.Column("models", sa.JSON),
    sa.Column("max_budget", sa.Float),
    sa.Column("budget_period", sa.String(16), nullable=False, server_default="lifetime"),
    sa.Column("rpm", sa.Integer),
    sa.Column("tpm", sa.Integer),
    sa.Column("expires_at", sa.Float),
    sa.Column("metadata", sa.JSON),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
)

spend_log = sa.Table(
    "proxy_spend_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("key_id", sa.String(40)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("model_requested", sa.String(200)),
    sa.Column("model_routed", sa.String(200)),
    sa.Column("provider", sa.String(64)),
    sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cost", sa.Float),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("error_kind", sa.String(64)),
    sa.Index("ix_proxy_spend_key", "key_id", "created_at"),
)


#: Which virtual key created an upstream object (a file, a batch, a response): a key sees only its own.
objects = sa.Table(
    "proxy_objects",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("object_id", sa.String(200), primary_key=True),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_proxy_objects_key", "key_id", "kind"),
)


async def _v1(conn: AsyncConnection) -> None:
    """Version 1: the keys and the spend log."""
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[keys, spend_log]))


async def _v2(conn: AsyncConnection) -> None:
    """Version 2: the owners of files and batches (and, with no change to the table, of responses)."""
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[objects]))


#: The migrations, in order: migration ``i`` brings the schema to version ``i + 1``.
MIGRATIONS: Sequence[Callable[[AsyncConnection], Awaitable[None]]] = (_v1, _v2)
SCHEMA_VERSION = len(MIGRATIONS)

_KEY_COLUMNS = [c.name for c in keys.columns]
#: the columns a spend-log row fills (``id`` is the database's)
_SPEND_COLUMNS = tuple(c.name for c in spend_log.columns if c.name != "id")
_spend_tuple = operator.itemgetter(*_SPEND_COLUMNS)


def _spend_values(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A spend-log row as the INSERT's values (a missing column is NULL)."""
    try:
        values: tuple[Any, ...] = _spend_tuple(row)  # every row the proxy makes has every column
    except KeyError:
        values = tuple(row.get(name) for name in _SPEND_COLUMNS)
    return values


_LOCK_ID = 0x6C6C6D70  # "llmp": the advisory lock of the migrations on PostgreSQL


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    """SQLite as a server's store: write-ahead logging (readers never wait for the writer, a commit
    appends to the log) and ``synchronous=NORMAL`` (no sync per commit; the database stays consistent,
    and only the last commits before a power loss can be lost), a busy timeout instead of "locked"."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


def _database_error(url: str, exc: BaseException) -> ServiceUnavailableError:
    error = ServiceUnavailableError(
        f"the proxy's database at {redact_url(url)} failed ({type(exc).__name__})", code="database_unavailable"
    )
    return error


class Store:
    """The proxy's database: keys and the spend log (one engine, its own pool)."""

    def __init__(self, url: str, *, engine: AsyncEngine | None = None) -> None:
        self.url = url
        try:
            options: dict[str, Any] = {}
            if not url.startswith("sqlite"):
                options = {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}
            self.engine = engine or create_async_engine(url, **options)
        except Exception as exc:  # an unknown dialect or a malformed URL
            raise BadRequestError(
                f"plugins.proxy.database_url: {redact_url(url)} cannot be used ({type(exc).__name__}: {exc})"
            ) from None
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._spend_insert: str | None = None
        if self.engine.dialect.name == "sqlite" and engine is None:
            sa.event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    def __repr__(self) -> str:
        return f"Store({redact_url(self.url)!r})"

    async def migrate(self) -> int:
        """Bring the schema to :data:`SCHEMA_VERSION`; returns the version found before."""
        try:
            async with self.engine.begin() as conn:
                if self.is_postgres:
                    await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
                await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[schema]))
                found = (await conn.execute(sa.select(sa.func.max(schema.c.version)))).scalar()
                current = int(found or 0)
                if current > SCHEMA_VERSION:
                    raise BadRequestError(
                        f"the proxy's database has schema version {current}, newer than this proxy's "
                        f"{SCHEMA_VERSION}: upgrade liter-llm-proxy"
                    )
                for version in range(current, SCHEMA_VERSION):
                    await MIGRATIONS[version](conn)
                if current < SCHEMA_VERSION:
                    await conn.execute(sa.delete(schema))
                    await conn.execute(sa.insert(schema).values(version=SCHEMA_VERSION))
                return current
        except (BadRequestError, ServiceUnavailableError):
            raise
        except Exception as exc:
            raise _database_error(self.url, exc) from None

    async def close(self) -> None:
        await self.engine.dispose()

    async def _run(self, work: Callable[[AsyncConnection], Awaitable[Any]], *, write: bool = False) -> Any:
        try:
            if write:
                async with self.engine.begin() as conn:
                    return await work(conn)
            async with self.engine.connect() as conn:
                return await work(conn)
        except (BadRequestError, ServiceUnavailableError):
            raise
        except Exception as exc:
            raise _database_error(self.url, exc) from None

    async def ping(self) -> None:
        """Raise ServiceUnavailableError when the database does not answer."""

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(sa.select(sa.literal(1)))

        await self._run(work)

    # -- keys ----------------------------------------------------------------------------------
    async def insert_key(self, row: Mapping[str, Any]) -> None:
        async def work(conn: AsyncConnection) -> None:
            await conn.execute(sa.insert(keys).values(**row))

        await self._run(work, write=True)

    async def key_by_hash(self, key_hash: str) -> dict[str, Any] | None:
        async def work(conn: AsyncConnection) -> dict[str, Any] | None:
            row = (await conn.execute(sa.select(keys).where(keys.c.key_hash == key_hash))).mappings().first()
            return dict(row) if row is not None else None

        result: dict[str, Any] | None = await self._run(work)
        return result

    async def key_by_id(self, key_id: str) -> dict[str, Any] | None:
        async def work(conn: AsyncConnection) -> dict[str, Any] | None:
            row = (await conn.execute(sa.select(keys).where(keys.c.id == key_id))).mappings().first()
            return dict(row) if row is not None else None

        result: dict[str, Any] | None = await self._run(work)
        return result

    async def list_keys(self, *, include_revoked: bool = False) -> list[dict[str, Any]]:
        async def work(conn: AsyncConnection) -> list[dict[str, Any]]:
            query = sa.select(keys).order_by(keys.c.created_at, keys.c.id)
            if not include_revoked:
                query = query.where(keys.c.revoked_at.is_(None))
            return [dict(row) for row in (await conn.execute(query)).mappings()]

        result: list[dict[str, Any]] = await self._run(work)
        return result

    async def update_key(self, key_id: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
        async def work(conn: AsyncConnection) -> dict[str, Any] | None:
            await conn.execute(sa.update(keys).where(keys.c.id == key_id).values(**values))
            row = (await conn.execute(sa.select(keys).where(keys.c.id == key_id))).mappings().first()
            return dict(row) if row is not None else None

        result: dict[str, Any] | None = await self._run(work, write=True)
        return result

    # -- owners of files, batches and responses -------------------------------------------------------
    async def claim_objects(self, kind: str, object_ids: Iterable[str], key_id: str) -> None:
        """Record ``key_id`` as the owner of each object not owned yet (a first owner is never replaced)."""
        wanted = sorted({object_id for object_id in object_ids if object_id})
        if not wanted:
            return

        async def work(conn: AsyncConnection) -> None:
            query = sa.select(objects.c.object_id).where(objects.c.kind == kind, objects.c.object_id.in_(wanted))
            known = {row.object_id for row in await conn.execute(query)}
            rows = [
                {"kind": kind, "object_id": object_id, "key_id": key_id, "created_at": now()}
                for object_id in wanted
                if object_id not in known
            ]
            if rows:
                insert = (_pg_insert(objects) if self.is_postgres else _sqlite_insert(objects)).on_conflict_do_nothing()
                await conn.execute(insert, rows)

        await self._run(work, write=True)

    async def object_owner(self, kind: str, object_id: str) -> str | None:
        """The key that created an object, or ``None`` (created with the master key, or unknown)."""

        async def work(conn: AsyncConnection) -> str | None:
            query = sa.select(objects.c.key_id).where(objects.c.kind == kind, objects.c.object_id == object_id)
            value: str | None = (await conn.execute(query)).scalar()
            return value

        result: str | None = await self._run(work)
        return result

    async def owned_ids(self, kind: str, key_id: str, object_ids: Iterable[str]) -> set[str]:
        """Which of ``object_ids`` belong to ``key_id``."""
        wanted = sorted({object_id for object_id in object_ids if object_id})
        if not wanted:
            return set()

        async def work(conn: AsyncConnection) -> set[str]:
            query = sa.select(objects.c.object_id).where(
                objects.c.kind == kind, objects.c.key_id == key_id, objects.c.object_id.in_(wanted)
            )
            return {row.object_id for row in await conn.execute(query)}

        result: set[str] = await self._run(work)
        return result

    async def forget_object(self, kind: str, object_id: str) -> None:
        """Drop the owner record of a deleted object."""

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(sa.delete(objects).where(objects.c.kind == kind, objects.c.object_id == object_id))

        await self._run(work, write=True)

    # -- spend -----------------------------------------------------------------------------------
    def _spend_sql(self) -> str:
        """The spend log's INSERT in the driver's own parameter style (one prepared statement for every batch)."""
        sql = self._spend_insert
        if sql is None:
            style = self.engine.dialect.paramstyle
            if style == "qmark":
                marks = ", ".join("?" for _ in _SPEND_COLUMNS)
            elif style == "numeric_dollar":
                marks = ", ".join(f"${i}" for i in range(1, len(_SPEND_COLUMNS) + 1))
            elif style == "numeric":
                marks = ", ".join(f":{i}" for i in range(1, len(_SPEND_COLUMNS) + 1))
            else:  # format, pyformat
                marks = ", ".join("%s" for _ in _SPEND_COLUMNS)
            sql = self._spend_insert = f"INSERT INTO {spend_log.name} ({', '.join(_SPEND_COLUMNS)}) VALUES ({marks})"
        return sql

    async def insert_spend(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Write spend-log rows in one transaction.

        The rows go to the driver's ``executemany`` with one fixed statement: SQLAlchemy's
        generic multi-row INSERT costs far more CPU per row (it builds and prepares a new
        statement for every batch size), and this runs on the event loop of the proxy.
        """
        batch = [_spend_values(row) for row in rows]
        if not batch:
            return
        sql = self._spend_sql()

        async def work(conn: AsyncConnection) -> None:
            await conn.exec_driver_sql(sql, batch)

        await self._run(work, write=True)

    async def spend_for_key(self, key_id: str) -> dict[str, Any]:
        """What a key spent: ``{"total", "requests", "by_model": {model: {"cost", "requests", "tokens"}}}``."""

        async def work(conn: AsyncConnection) -> dict[str, Any]:
            model = sa.func.coalesce(spend_log.c.model_requested, "")
            query = (
                sa.select(
                    model.label("model"),
                    sa.func.coalesce(sa.func.sum(spend_log.c.cost), 0.0).label("cost"),
                    sa.func.count().label("requests"),
                    sa.func.coalesce(sa.func.sum(spend_log.c.total_tokens), 0).label("tokens"),
                )
                .where(spend_log.c.key_id == key_id)
                .group_by(model)
            )
            by_model = {
                row.model: {"cost": float(row.cost), "requests": int(row.requests), "tokens": int(row.tokens)}
                for row in await conn.execute(query)
            }
            return {
                "total": sum(item["cost"] for item in by_model.values()),
                "requests": sum(item["requests"] for item in by_model.values()),
                "by_model": by_model,
            }

        result: dict[str, Any] = await self._run(work)
        return result

    async def spend_summary(self, *, key_id: str | None = None, model: str | None = None) -> list[dict[str, Any]]:
        """Spend grouped by key and model (optionally for one key and/or one model)."""

        async def work(conn: AsyncConnection) -> list[dict[str, Any]]:
            query = sa.select(
                spend_log.c.key_id,
                spend_log.c.model_requested,
                sa.func.coalesce(sa.func.sum(spend_log.c.cost), 0.0).label("cost"),
                sa.func.count().label("requests"),
                sa.func.coalesce(sa.func.sum(spend_log.c.prompt_tokens), 0).label("prompt_tokens"),
                sa.func.coalesce(sa.func.sum(spend_log.c.completion_tokens), 0).label("completion_tokens"),
            ).group_by(spend_log.c.key_id, spend_log.c.model_requested)
            if key_id is not None:
                query = query.where(spend_log.c.key_id == key_id)
            if model is not None:
                query = query.where(spend_log.c.model_requested == model)
            query = query.order_by(spend_log.c.key_id, spend_log.c.model_requested)
            return [
                {
                    "key_id": row.key_id,
                    "model": row.model_requested,
                    "cost": float(row.cost),
                    "requests": int(row.requests),
                    "prompt_tokens": int(row.prompt_tokens),
                    "completion_tokens": int(row.completion_tokens),
                }
                for row in await conn.execute(query)
            ]

        result: list[dict[str, Any]] = await self._run(work)
        return result

    async def spend_logs(self, *, key_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest rows of the spend log (optionally for one key)."""

        async def work(conn: AsyncConnection) -> list[dict[str, Any]]:
            query = sa.select(spend_log).order_by(spend_log.c.id.desc()).limit(limit)
            if key_id is not None:
                query = query.where(spend_log.c.key_id == key_id)
            return [dict(row) for row in (await conn.execute(query)).mappings()]

        result: list[dict[str, Any]] = await self._run(work)
        return result


def now() -> float:
    """Seconds since the epoch (the stored timestamps)."""
    return time.time()
