"""The base-map settings: what reaches the CSP header is a plain scheme://host[:port], or nothing."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import ConsoleSettings
from web.routes import headers


def test_no_tile_url_admits_no_image_host() -> None:
    c = ConsoleSettings()
    assert c.tile_origins() == []
    assert "img-src 'self' data: blob:;" in headers(c)["Content-Security-Policy"]


def test_subdomains_each_become_an_img_src_origin() -> None:
    c = ConsoleSettings(console_tile_url="https://t{s}.tianditu.gov.cn/vec_w/{z}/{x}/{y}.png",
                        console_tile_subdomains="0,1,2", console_tile_datum="cgcs2000")
    assert c.tile_origins() == [f"https://t{i}.tianditu.gov.cn" for i in range(3)]
    csp = headers(c)["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://t0.tianditu.gov.cn https://t1.tianditu.gov.cn https://t2.tianditu.gov.cn;" in csp
    assert "connect-src 'self';" in csp and "script-src 'self';" in csp  # tiles are images, nothing more
    amap = ConsoleSettings(console_tile_url="https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=8",
                           console_tile_subdomains="1234")
    assert amap.subdomains() == ["1", "2", "3", "4"] and len(amap.tile_origins()) == 4


@pytest.mark.parametrize("url", [
    "ftp://tiles.example/{z}/{x}/{y}.png",  # not http(s)
    "https://tiles.example/{z}/{x}.png",  # no {y}
    "https://tiles.example; script-src *;/{z}/{x}/{y}.png",  # would inject into the CSP
    "https://user:pw@tiles.example/{z}/{x}/{y}.png",  # credentials in a URL
    "//tiles.example/{z}/{x}/{y}.png",
])
def test_bad_tile_urls_are_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ValidationError, match="ZHIJIAO_CONSOLE_TILE_URL"):
        ConsoleSettings(console_tile_url=url)


def test_bad_subdomains_and_datum_are_refused() -> None:
    with pytest.raises(ValidationError, match="SUBDOMAINS"):
        ConsoleSettings(console_tile_subdomains="a b;c")
    with pytest.raises(ValidationError):
        ConsoleSettings(console_tile_datum="bd09")  # no Baidu tiles: BD-09 is not offered
