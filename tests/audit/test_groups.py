"""Group axes: age bands, intersections, sizes, small-group flags and reference groups."""

from __future__ import annotations

import pandas as pd
import pytest

from serbias.audit import group_labels, group_sizes
from serbias.audit._axes import age_band_levels, parse_references
from serbias.audit._groups import choose_reference
from serbias.errors import SerbiasError
from tests.audit.clips import make_clips

ACTORS = [
    (1001, "Female", "Caucasian", "Not Hispanic", 19),
    (1002, "Female", "African American", "Hispanic", 20),
    (1003, "Male", "Caucasian", "Not Hispanic", 49),
    (1004, "Male", "Caucasian", "Not Hispanic", 74),
    (1005, "Male", "Unknown", "Not Hispanic", 75),
]


@pytest.fixture()
def clips() -> pd.DataFrame:
    return make_clips(ACTORS, emotions=("ANG", "SAD"))


def test_age_bands_are_half_open_with_open_ends(clips: pd.DataFrame) -> None:
    assert age_band_levels((20, 30, 40, 50, 75)) == [
        "<20",
        "20-29",
        "30-39",
        "40-49",
        "50-74",
        "75+",
    ]
    labels = group_labels(clips)
    per_actor = labels["age_band"].astype(str).groupby(clips["actor_id"]).first()
    assert per_actor.to_dict() == {
        1001: "<20",
        1002: "20-29",
        1003: "40-49",
        1004: "50-74",
        1005: "75+",
    }
    custom = group_labels(clips, age_edges=(18, 45, 100))
    assert set(custom["age_band"].astype(str)) == {"18-44", "45-99"}
    with pytest.raises(SerbiasError, match="age edges"):
        group_labels(clips, age_edges=(30, 20))


def test_intersections_and_race_binary(clips: pd.DataFrame) -> None:
    labels = group_labels(clips)
    first = labels.groupby(clips["actor_id"]).first().astype(str)
    assert first.loc[1002, "sex_x_race"] == "Female/African American"
    assert first.loc[1002, "sex_x_race_binary"] == "Female/Non-Caucasian"
    assert first.loc[1005, "race_binary"] == "Non-Caucasian"


def test_sizes_in_clips_and_actors_with_small_groups_flagged(clips: pd.DataFrame) -> None:
    sizes = group_sizes(
        group_labels(clips),
        clips["actor_id"].to_numpy(),
        clips["filename"].to_numpy(),
        min_actors=3,
    )
    sizes = sizes.set_index(["axis", "group"])
    assert sizes.loc[("sex", "Male"), ["n_clips", "n_actors", "flagged"]].tolist() == [6, 3, False]
    assert sizes.loc[("sex", "Female"), "reason"] == "2 actors (< 3): not compared"
    assert sizes.loc[("race", "Unknown"), "reason"].startswith("single actor")
    assert ("race", "Asian") not in sizes.index  # only groups that occur are listed


def test_reference_is_largest_unflagged_group_or_the_requested_one(clips: pd.DataFrame) -> None:
    sizes = group_sizes(
        group_labels(clips),
        clips["actor_id"].to_numpy(),
        clips["filename"].to_numpy(),
        min_actors=2,
    )
    assert choose_reference(sizes, "sex", None) == "Male"
    assert choose_reference(sizes, "sex", "Female") == "Female"
    assert choose_reference(sizes, "ethnicity", None) == "Not Hispanic"
    with pytest.raises(SerbiasError, match="reference race=Unknown: single actor"):
        choose_reference(sizes, "race", "Unknown")
    with pytest.raises(
        SerbiasError, match=r"reference race=Asian: no such group .*groups: African American"
    ):
        choose_reference(sizes, "race", "Asian")


def test_reference_specs_are_checked() -> None:
    assert parse_references(["sex=Male", "sex_x_race=Female/Caucasian"]) == {
        "sex": "Male",
        "sex_x_race": "Female/Caucasian",
    }
    with pytest.raises(SerbiasError, match="unknown axis 'gender'"):
        parse_references(["gender=Male"])
    with pytest.raises(SerbiasError, match="expected AXIS=GROUP"):
        parse_references(["Male"])


def test_an_actor_in_two_groups_is_an_error(clips: pd.DataFrame) -> None:
    clips.loc[0, "sex"] = "Male"
    with pytest.raises(SerbiasError, match="actor 1001 has clips in two sex groups"):
        group_labels(clips)
