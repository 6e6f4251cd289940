"""Imports every domain's models so that the metadata (for Alembic) knows all tables."""

import loa.domains.accounts.models
import loa.domains.agencies.models
import loa.domains.broadcasts.models
import loa.domains.conversations.models
import loa.domains.follows.models
import loa.domains.geo.models
import loa.domains.integrations.models
import loa.domains.people.models
import loa.domains.push.models
import loa.domains.reports.models
import loa.domains.stats.models  # noqa: F401
from loa.db.base import Base

metadata = Base.metadata
