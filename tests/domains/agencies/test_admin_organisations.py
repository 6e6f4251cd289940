"""Operators rename organisations and move them in the tree; a move that would make a loop is refused and the
tree lists every organisation under its parent."""

from __future__ import annotations

import pytest
from tests.factories import HANOI

from loa.domains.agencies import service
from loa.kit.effects import commit
from loa.kit.errors import Invalid, NotFound
from loa.runtime import Runtime


async def test_an_organisation_is_renamed_and_moved_but_never_under_itself(runtime: Runtime) -> None:
    async with runtime.session() as session:
        city = await service.create_organisation(session, name="UBND Thành phố Hà Nội", province_code=HANOI)
        health = await service.create_organisation(session, name="Sở Y tế", parent_id=city.id)
        hospital = await service.create_organisation(session, name="Bệnh viện", parent_id=health.id)
        government = await service.create_organisation(session, name="Chính phủ")
        await commit(session)
    async with runtime.session() as session:
        moved = await service.update_organisation(session, organisation_id=health.id, name="  Sở  Y tế Hà Nội ",
                                                  parent_id=government.id, province_code=HANOI)
        assert (moved.name, moved.parent_id, moved.province_code) == ("Sở Y tế Hà Nội", government.id, HANOI)
        assert moved.search_text == "so y te ha noi"
        for parent in (health.id, hospital.id):  # itself, or one of its own sub-organisations
            with pytest.raises(Invalid) as loop:
                await service.update_organisation(session, organisation_id=health.id, name="Sở Y tế",
                                                  parent_id=parent, province_code=None)
            assert loop.value.code == "parent_loop"
        with pytest.raises(NotFound):
            await service.update_organisation(session, organisation_id=health.id, name="Sở Y tế", parent_id=999_999,
                                              province_code=None)
        with pytest.raises(Invalid):
            await service.update_organisation(session, organisation_id=health.id, name="S", parent_id=None,
                                              province_code=None)
        with pytest.raises(Invalid):
            await service.update_organisation(session, organisation_id=health.id, name="Sở Y tế", parent_id=None,
                                              province_code="99")
        await commit(session)
    async with runtime.read_session() as session:
        assert (await service.get_organisation(session, health.id)).parent_id == government.id


async def test_the_tree_lists_each_organisation_under_its_parent(runtime: Runtime) -> None:
    async with runtime.session() as session:
        city = await service.create_organisation(session, name="UBND Hà Nội", province_code=HANOI)
        education = await service.create_organisation(session, name="Sở Giáo dục", parent_id=city.id)
        await service.create_organisation(session, name="Trường THPT", parent_id=education.id)
        await service.create_organisation(session, name="Sở Y tế", parent_id=city.id)
        await service.create_organisation(session, name="Công an Hà Nội", province_code=HANOI)
        await commit(session)
    async with runtime.read_session() as session:
        tree = await service.organisation_tree(session)
    assert [(row.organisation.name, row.depth) for row in tree] == [
        ("Công an Hà Nội", 0), ("UBND Hà Nội", 0), ("Sở Giáo dục", 1), ("Trường THPT", 2), ("Sở Y tế", 1)]


async def test_a_loop_left_in_the_data_still_shows_every_organisation(runtime: Runtime) -> None:
    async with runtime.session() as session:
        first = await service.create_organisation(session, name="Một")
        second = await service.create_organisation(session, name="Hai", parent_id=first.id)
        first.parent_id = second.id  # as an old import could have left it
        await commit(session)
    async with runtime.read_session() as session:
        tree = await service.organisation_tree(session)
    assert sorted(row.organisation.name for row in tree) == ["Hai", "Một"]
