"""A framework's identity beyond its occupation (issue 15), and CASE identifiers.

`frameworks.key` (the framework's own name) joins `soc` in the unique identity, so an occupation
can have several frameworks. Before this, a second framework of the same SOC code was stored as a
new version of the first: such versions (a title different from the first version's) move to a
framework of their own, with revisions renumbered from 1 in their old order. Version, level and
statement rows keep their ids, so every judgement, achievement and credential stays as it was.
Versions, levels and statements get their CASE identifiers (UUIDs derived as
`lms_plugin.frameworks.identity` does; its rules are copied here so the migration stays fixed).
`judgements.carried_over_from_id` marks judgements carried over when a placement moves to a newer
version of its framework.

Downgrade merges the frameworks of each SOC code back into its oldest one.

Revision ID: 20261202_framework_identity
Revises: 20261202_learner_evidence
Create Date: 2026-12-02 00:00:00
"""

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.orm

revision: str = "20261202_framework_identity"
down_revision: str | None = "20261202_learner_evidence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CASE_NAMESPACE = uuid.UUID("6f1f3c0e-4b8a-5d2e-9c61-2a7d0b5e8f14")

frameworks = sa.table(
    "frameworks",
    sa.column("id", sa.Integer()),
    sa.column("soc", sa.String()),
    sa.column("key", sa.String()),
    sa.column("title", sa.String()),
    sa.column("created_at", lms_plugin.orm.UTCDateTime(timezone=True)),
)
versions = sa.table(
    "framework_versions",
    sa.column("id", sa.Integer()),
    sa.column("framework_id", sa.Integer()),
    sa.column("case_id", sa.String()),
    sa.column("revision", sa.Integer()),
    sa.column("title", sa.String()),
    sa.column("content_sha256", sa.String()),
    sa.column("imported_at", lms_plugin.orm.UTCDateTime(timezone=True)),
)
levels = sa.table(
    "framework_levels",
    sa.column("id", sa.Integer()),
    sa.column("version_id", sa.Integer()),
    sa.column("case_id", sa.String()),
    sa.column("key", sa.String()),
)
statements = sa.table(
    "framework_statements",
    sa.column("id", sa.Integer()),
    sa.column("level_id", sa.Integer()),
    sa.column("case_id", sa.String()),
    sa.column("text", sa.Text()),
)


def _key(title: str) -> str:
    return f"title:{' '.join(title.split()).casefold()}"[:520]


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(CASE_NAMESPACE, "\n".join(parts)))


def upgrade() -> None:
    _sqlite_foreign_keys(on=False)
    with op.batch_alter_table("frameworks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=520), nullable=True))
        batch_op.drop_constraint("uq_frameworks_soc", type_="unique")
    for table in ("framework_versions", "framework_levels", "framework_statements"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("case_id", sa.String(length=36), nullable=True))

    connection = op.get_bind()
    _split_frameworks(connection)
    _assign_case_ids(connection)

    with op.batch_alter_table("frameworks", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=520), nullable=False)
        batch_op.create_unique_constraint("uq_frameworks_soc_key", ["soc", "key"])
        batch_op.create_index("ix_frameworks_soc", ["soc"], unique=False)
    for table in ("framework_versions", "framework_levels", "framework_statements"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("case_id", existing_type=sa.String(length=36), nullable=False)
            batch_op.create_unique_constraint(f"uq_{table}_case_id", ["case_id"])
    with op.batch_alter_table("judgements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carried_over_from_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_judgements_carried_over_from_id_judgements",
            "judgements",
            ["carried_over_from_id"],
            ["id"],
        )
    _sqlite_foreign_keys(on=True)


def _sqlite_foreign_keys(*, on: bool) -> None:
    """SQLite rebuilds a table to change its constraints, and cannot drop `frameworks` while
    versions refer to it with foreign keys on. The switch works only outside a transaction, so the
    work so far is committed first (SQLite's own procedure for such changes; see "Making Other
    Kinds Of Table Schema Changes" in its ALTER TABLE documentation), and the references are
    checked before the switch goes back on."""
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    if on and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
        raise RuntimeError("framework identity migration: a foreign key no longer matches")
    driver = connection.connection.driver_connection
    if driver.in_transaction:
        driver.commit()
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _split_frameworks(connection: sa.Connection) -> None:
    """Give each framework its key; versions titled unlike the first move to new frameworks."""
    rows = connection.execute(
        sa.select(versions.c.id, versions.c.framework_id, versions.c.title, frameworks.c.soc)
        .join(frameworks, frameworks.c.id == versions.c.framework_id)
        .order_by(versions.c.framework_id, versions.c.revision, versions.c.id)
    ).all()
    groups: dict[int, dict[str, list[sa.Row]]] = defaultdict(dict)
    for row in rows:
        groups[row.framework_id].setdefault(_key(row.title), []).append(row)
    # Free the revision numbers first: (framework_id, revision) is unique at every step.
    connection.execute(versions.update().values(revision=-versions.c.id))
    now = dt.datetime.now(dt.UTC)
    for framework_id, by_key in groups.items():
        for position, (key, members) in enumerate(by_key.items()):
            target = framework_id
            if position == 0:
                connection.execute(
                    frameworks.update()
                    .where(frameworks.c.id == framework_id)
                    .values(key=key, title=members[-1].title)
                )
            else:
                target = connection.execute(
                    frameworks.insert()
                    .values(soc=members[0].soc, key=key, title=members[-1].title, created_at=now)
                    .returning(frameworks.c.id)
                ).scalar_one()
            for revision_number, member in enumerate(members, start=1):
                connection.execute(
                    versions.update()
                    .where(versions.c.id == member.id)
                    .values(framework_id=target, revision=revision_number)
                )
    # A framework without versions (none is ever stored so, but be safe) is named by its title.
    for row in connection.execute(
        sa.select(frameworks.c.id, frameworks.c.title).where(frameworks.c.key.is_(None))
    ).all():
        connection.execute(
            frameworks.update().where(frameworks.c.id == row.id).values(key=_key(row.title))
        )


def _assign_case_ids(connection: sa.Connection) -> None:
    documents: dict[int, str] = {}
    for row in connection.execute(
        sa.select(
            versions.c.id, versions.c.content_sha256, frameworks.c.soc, frameworks.c.key
        ).join(frameworks, frameworks.c.id == versions.c.framework_id)
    ).all():
        documents[row.id] = _uuid("version", row.soc, row.key, row.content_sha256)
        connection.execute(
            versions.update().where(versions.c.id == row.id).values(case_id=documents[row.id])
        )
    level_documents: dict[int, str] = {}
    for row in connection.execute(sa.select(levels.c.id, levels.c.version_id, levels.c.key)):
        level_documents[row.id] = documents[row.version_id]
        case_id = _uuid("level", documents[row.version_id], row.key)
        connection.execute(levels.update().where(levels.c.id == row.id).values(case_id=case_id))
    for row in connection.execute(
        sa.select(statements.c.id, statements.c.level_id, statements.c.text)
    ).all():
        case_id = _uuid("statement", level_documents[row.level_id], row.text)
        connection.execute(
            statements.update().where(statements.c.id == row.id).values(case_id=case_id)
        )


def downgrade() -> None:
    _sqlite_foreign_keys(on=False)
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(versions.c.id, versions.c.framework_id, frameworks.c.soc)
        .join(frameworks, frameworks.c.id == versions.c.framework_id)
        .order_by(frameworks.c.soc, versions.c.imported_at, versions.c.id)
    ).all()
    oldest: dict[str, int] = {}
    for row in connection.execute(
        sa.select(frameworks.c.soc, sa.func.min(frameworks.c.id).label("id")).group_by(
            frameworks.c.soc
        )
    ):
        oldest[row.soc] = row.id
    connection.execute(versions.update().values(revision=-versions.c.id))
    numbers: dict[str, int] = defaultdict(int)
    for row in rows:
        numbers[row.soc] += 1
        connection.execute(
            versions.update()
            .where(versions.c.id == row.id)
            .values(framework_id=oldest[row.soc], revision=numbers[row.soc])
        )
    connection.execute(frameworks.delete().where(frameworks.c.id.not_in(list(oldest.values()))))

    with op.batch_alter_table("judgements", schema=None) as batch_op:
        batch_op.drop_constraint(
            "fk_judgements_carried_over_from_id_judgements", type_="foreignkey"
        )
        batch_op.drop_column("carried_over_from_id")

    for table in ("framework_statements", "framework_levels", "framework_versions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_case_id", type_="unique")
            batch_op.drop_column("case_id")
    with op.batch_alter_table("frameworks", schema=None) as batch_op:
        batch_op.drop_index("ix_frameworks_soc")
        batch_op.drop_constraint("uq_frameworks_soc_key", type_="unique")
        batch_op.create_unique_constraint("uq_frameworks_soc", ["soc"])
        batch_op.drop_column("key")
    _sqlite_foreign_keys(on=True)
