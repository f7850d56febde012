"""The proxies of a client by httpx's rules, read without importing any HTTP stack.

:func:`proxy_map` is what both clients route by (their transports mount a pool per proxy).  It
lives apart from the transports so that a client which finds no proxy (the usual case) does not
import httpcore, and with it trio when that is installed, only to learn it.
"""

from __future__ import annotations

import ipaddress

__all__ = ["proxy_map"]


def _no_proxy_pattern(entry: str) -> str:
    """The mount pattern of one ``NO_PROXY`` entry (curl's rules, as httpx applies them)."""
    if "://" in entry:  # a pattern already: "http://example.com"
        return entry
    address = entry.partition("/")[0]  # an address may carry a prefix length: 192.168.0.0/16
    try:
        version: int = ipaddress.ip_address(address).version
    except ValueError:
        version = 0
    if version == 6:
        return f"all://[{entry}]"
    if version == 4 or entry.lower() == "localhost":
        return f"all://{entry}"
    return f"all://*{entry}"  # a domain: "example.com" covers it and its subdomains


def proxy_map(proxy: str | None, *, trust_env: bool) -> dict[str, str | None]:
    """Which proxy carries which requests, by httpx's rules: URL pattern -> proxy URL (``None``: direct).

    An explicit ``proxy`` carries every request; else, with ``trust_env``,
    the environment's proxies (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``
    and ``NO_PROXY``, upper or lower case, read by :func:`urllib.request.getproxies`)
    with the meaning httpx gives them, so both clients follow the same rules:
    a proxy without a scheme is ``http://``, ``NO_PROXY=*`` turns every proxy
    off, and each other ``NO_PROXY`` entry (a host, a domain and its
    subdomains, an IP address or network, ``localhost``) goes direct.
    """
    if proxy is not None:
        return {"all://": proxy}
    if not trust_env:
        return {}
    from urllib.request import getproxies

    found = getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        url = found.get(scheme)
        if url:
            mounts[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    for entry in (part.strip() for part in found.get("no", "").split(",")):
        if entry == "*":
            return {}
        if entry:
            mounts[_no_proxy_pattern(entry)] = None
    return mounts
