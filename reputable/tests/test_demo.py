"""The README's run command: `reputable demo`, tried as a newcomer would."""

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from reputable.conftest import free_port


def test_the_demo_leads_a_newcomer_from_curl_to_a_published_review(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # A data folder of its own, as on a fresh clone; its dispatcher idles long, so that the
    # one pass this test runs is the one that sends.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "EMAIL_URL", "BASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env |= {"REPUTABLE_DATA_DIR": str(tmp_path), "DISPATCH_IDLE_SECONDS": "3600"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "reputable.cli", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        printed = ""
        while printed.count("Started worker") < (os.cpu_count() or 1) and demo.poll() is None:  # one a CPU
            printed += demo.stdout.readline()
        assert f"{base}/s/demo-tea-shop/" in printed
        assert f"{base}/demo/mailbox/" in printed
        assert f"{base}/demo/shop/" in printed
        curl = re.search(r"(curl -X POST .*?)\n\n", printed, re.S)
        assert curl, printed

        posted = subprocess.run(["bash", "-c", curl.group(1) + " -s"], capture_output=True, text=True, check=True)
        assert json.loads(posted.stdout)["outcome"] == "scheduled"
        shop_page = urllib.request.urlopen(f"{base}/demo/shop/").read().decode()
        assert '<reputable-reviews shop="demo-tea-shop"' in shop_page and "/w/embed.js" in shop_page
        seal = f"{base}/w/demo-tea-shop/badge.json"
        assert json.loads(urllib.request.urlopen(seal).read())["all_time"]["count"] == 10  # now cached
        dispatch_env = env | {"BASE_URL": base}  # as the demo's own dispatcher has it
        subprocess.run(
            [sys.executable, "-m", "reputable.cli", "dispatch"], env=dispatch_env, check=True, capture_output=True
        )

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        inbox = opener.open(f"{base}/demo/mailbox/").read().decode()
        mail_path = re.search(r'href="(/demo/mailbox/[^"]+\.eml)"', inbox)
        assert mail_path, inbox
        mail = opener.open(base + mail_path.group(1)).read().decode()
        link = re.search(r'href="(http://127\.0\.0\.1:\d+/r/[\w-]+)"', mail)
        assert link, mail
        form = opener.open(link.group(1)).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        assert token
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token.group(1),
                "rating": "5",
                "title": "Found it in minutes",
                "name_display": "anonymous",
            }
        ).encode()
        opener.open(urllib.request.Request(link.group(1), data=body, headers={"Referer": link.group(1)}))

        profile = opener.open(f"{base}/s/demo-tea-shop/?lang=en").read().decode()
        assert "Found it in minutes" in profile
        assert "11 reviews" in profile  # ten samples and the newcomer's
        # The seal, cached by the server's workers, was dropped when the review was written.
        assert json.loads(urllib.request.urlopen(seal).read())["all_time"]["count"] == 11

        # The newcomer logs in to the dashboard with what the demo printed.
        login = re.search(r"Dashboard:\s+(\S+)\s+\(log in as (\S+), password (\S+)\)", printed)
        assert login, printed
        login_url, email, password = login.groups()
        assert login_url == f"{base}/accounts/login/"
        merchant = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        login_form = merchant.open(login_url).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_form)
        assert token
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token.group(1), "login": email, "password": password}
        ).encode()
        dashboard = merchant.open(urllib.request.Request(login_url, data=body, headers={"Referer": login_url}))
        assert dashboard.geturl() == f"{base}/dashboard/demo-tea-shop/"  # the one shop they own
        assert "<h1>Demo Tea Shop</h1>" in dashboard.read().decode()
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=30)
