import collections, json
from tests.web.test_map_scale import OBSERVE, N, big_world, server  # noqa: F401
from tests.web.browser import Browser, submit_login


def test_prof(big_world, server):
    _, world = big_world
    browser = Browser(server.base)
    try:
        ctx = browser.context()
        ctx.add_init_script(OBSERVE)
        page = ctx.new_page()
        page.goto(server.base + "/console/#/map")
        submit_login(page, world.users["officer_a"].username)
        page.wait_for_selector("#map[data-clustered]", timeout=60000)
        page.wait_for_timeout(1000)
        box = page.locator("#map").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        cdp = ctx.new_cdp_session(page)
        cdp.send("Profiler.enable"); cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        page.evaluate("() => { window.__longtasks = []; }")
        cdp.send("Profiler.start")
        for _ in range(2):
            page.mouse.wheel(0, -300)
            page.wait_for_timeout(800)
        prof = cdp.send("Profiler.stop")["profile"]
        print("\nlongtasks", page.evaluate("() => window.__longtasks"))
        nodes = {n["id"]: n for n in prof["nodes"]}
        dt = collections.Counter()
        for sid, d in zip(prof["samples"], prof["timeDeltas"]):
            n = nodes[sid]["callFrame"]
            dt[f'{n["functionName"]} {n["url"].rsplit("/",1)[-1]}:{n["lineNumber"]}'] += d
        for k, v in dt.most_common(30):
            print(f"{v/1000:8.1f} ms  {k}")
    finally:
        browser.close()
