"""Write routes of imports: city staff anywhere, district staff in their own district."""

from __future__ import annotations

import io

from tests.support.access import LOGIN, OK, Route, World


def platforms_file(world: World) -> dict[str, object]:
    """A one-row platform import for the first district (valid there, refused elsewhere)."""
    header = "编码,名称,类型,区,街道,地址,成立日期\n"
    row = (f"ACC-0001,导入的协商议事室,协商议事室,{world.district.code},导入街道,导入路 1 号,"
           "2023-05-01\n")
    return {"kind": "platforms", "file": (io.BytesIO((header + row).encode("utf-8-sig")),
                                          "platforms.csv")}


ROUTES = [
    Route("exchange.import_page", lambda w: "/manage/import", data=platforms_file,
          expect={"anonymous": LOGIN, "admin": OK, "district_admin": OK,
                  # the file names another district: refused row by row, nothing written
                  "other_district_admin": 422, "coordinator": 403, "other_coordinator": 403,
                  "department": 403, "other_department": 403}),
]
