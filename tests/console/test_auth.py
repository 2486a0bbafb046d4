"""Signing in: sessions in signed HttpOnly SameSite=Strict cookies, wrong passwords, throttling, CSRF."""

from __future__ import annotations

import httpx

from fleetmon.alerts import tickets
from fleetmon.console import users
from fleetmon.console.app import SESSION_COOKIE, create_app
from fleetmon.console.service import make_console
from tests.console.conftest import PASSWORD, SESSION_SECRET, Client, World, console_config, csrf_of, login


def test_sign_in_sets_a_strict_http_only_cookie_and_opens_the_status_page(client: Client) -> None:
    assert client.get("/status", follow_redirects=False).headers["location"].startswith("/login?next=/status")
    answer = login(client, "tech")
    assert answer.status_code == 303 and answer.headers["location"] == "/status"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(SESSION_COOKIE + "=") and "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower().replace("samesite", "")  # plain HTTP on loopback by default
    page = client.get("/status")
    assert page.status_code == 200 and "tech" in page.text and "Tình trạng" in page.text


async def test_cookies_are_secure_when_configured_for_tls(world: World) -> None:
    cfg = console_config(world.config.data_dir.parent, secure_cookies=True)
    app = create_app(make_console(cfg, world.engine), SESSION_SECRET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://127.0.0.1") as client:
        page = await client.get("/login")
        answer = await client.post("/login", data={"name": "tech", "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert answer.status_code == 303
    assert "; secure" in answer.headers["set-cookie"].lower() and "; secure" in page.headers["set-cookie"].lower()


def test_wrong_password_is_refused_with_a_clear_message(client: Client) -> None:
    answer = login(client, "tech", "not the password")
    assert answer.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in answer.text
    assert login(client, "nobody-here", PASSWORD).status_code == 401
    assert client.get("/status", follow_redirects=False).status_code == 303  # still signed out


def test_five_wrong_passwords_pause_the_account_even_for_the_right_one(client: Client, world: World) -> None:
    clock = [1000.0]
    world.console.throttle.clock = lambda: clock[0]
    for _ in range(5):
        assert login(client, "tech", "guess").status_code == 401
    paused = login(client, "tech")
    assert paused.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in paused.text and "30 giây" in paused.text
    assert login(client, "admin").status_code == 303  # another account from the same address is not paused yet
    clock[0] += 31
    assert login(client, "tech").status_code == 303


def test_many_accounts_guessed_from_one_address_pause_that_address(client: Client, world: World) -> None:
    world.console.throttle.clock = lambda: 5000.0
    for n in range(20):
        login(client, f"guess{n}", "guess")
    assert login(client, "budget").status_code == 429


def test_a_form_posted_without_its_csrf_token_is_refused(client: Client, world: World) -> None:
    assert client.post("/login", data={"name": "tech", "password": PASSWORD}).status_code == 403
    login(client, "tech")
    [ticket, *_] = world.fleet.tickets()
    refused = client.post(f"/tickets/{ticket.id}/ack", data={}, follow_redirects=False)
    assert refused.status_code == 403 and "Biểu mẫu đã hết hạn" in refused.text
    forged = client.post(f"/tickets/{ticket.id}/ack", data={"csrf": "forged-token"}, follow_redirects=False)
    assert forged.status_code == 403
    with world.engine.connect() as conn:
        assert tickets.get(conn, ticket.id).state == tickets.OPEN
    token = csrf_of(client.get(f"/tickets/{ticket.id}").text)
    assert client.post(f"/tickets/{ticket.id}/ack", data={"csrf": token}, follow_redirects=False).status_code == 303
    with world.engine.connect() as conn:
        assert tickets.get(conn, ticket.id).state == tickets.ACKNOWLEDGED


def test_a_password_change_or_disable_ends_open_sessions(client: Client, world: World) -> None:
    login(client, "tech")
    assert client.get("/status").status_code == 200
    with world.engine.begin() as conn:
        users.set_password(conn, "tech", "another long password")
    assert client.get("/status", follow_redirects=False).status_code == 303
    login(client, "tech", "another long password")
    assert client.get("/status").status_code == 200
    with world.engine.begin() as conn:
        users.set_active(conn, "tech", False)
    assert client.get("/status", follow_redirects=False).status_code == 303
    assert login(client, "tech", "another long password").status_code == 401


def test_login_never_redirects_to_another_site(client: Client) -> None:
    page = client.get("/login")
    answer = client.post("/login", data={"name": "tech", "password": PASSWORD, "csrf": csrf_of(page.text), "next": "//evil.example/"},
                         follow_redirects=False)
    assert answer.headers["location"] == "/"


def test_roles_open_only_their_pages(client: Client, world: World) -> None:
    login(client, "budget")
    assert client.get("/users").status_code == 403
    assert client.get("/inventory").status_code == 403
    assert client.get("/tickets").status_code == 200
    [ticket, *_] = world.fleet.tickets()
    token = csrf_of(client.get(f"/tickets/{ticket.id}").text)
    assert client.post(f"/tickets/{ticket.id}/ack", data={"csrf": token}).status_code == 403
    login(client, "admin")
    assert client.get("/users").status_code == 200 and client.get("/audit").status_code == 200
