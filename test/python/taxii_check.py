"""Drive a TAXII 2.1 server with the OASIS taxii2-client, for Go tests.

Usage (every command prints one JSON object on stdout; exit 1 on failure):
  taxii_check.py discover URL USER PASSWORD
  taxii_check.py walk COLLECTION_URL USER PASSWORD PER_REQUEST OUT_BUNDLE [ADDED_AFTER]
      pages through the collection with taxii2client.v21.as_pages and writes
      every object served into OUT_BUNDLE (a STIX 2.1 bundle, for
      stix2-validator); prints the pages, the ids in order and the
      X-TAXII-Date-Added-Last of the first page
  taxii_check.py post COLLECTION_URL USER PASSWORD ENVELOPE_FILE
      adds the envelope's objects (waits for completion); prints the status
"""
import json
import sys
import uuid

from taxii2client.v21 import Collection, Server, as_pages


def discover(url, user, password):
    server = Server(url, user=user, password=password)
    roots = []
    for root in server.api_roots:
        roots.append({
            "url": root.url,
            "versions": root.versions,
            "collections": [
                {"id": c.id, "title": c.title, "can_read": c.can_read, "can_write": c.can_write, "url": c.url}
                for c in root.collections
            ],
        })
    return {"title": server.title, "default": server.default.url if server.default else None, "api_roots": roots}


def walk(url, user, password, per_request, out, added_after=None):
    coll = Collection(url, user=user, password=password)
    kwargs = {}
    if added_after:
        kwargs["added_after"] = added_after
    pages, ids, objects = 0, [], []
    for envelope in as_pages(coll.get_objects, per_request=int(per_request), **kwargs):
        pages += 1
        for obj in envelope.get("objects", []):
            ids.append(obj["id"])
            objects.append(obj)
        if pages > 100000:
            raise RuntimeError("paging does not end")
    # The headers of one page, through the client's own connection.
    first = coll._conn.session.get(coll.objects_url, params={"limit": int(per_request)},
                                   headers={"Accept": "application/taxii+json;version=2.1"})
    first.raise_for_status()
    with open(out, "w") as f:
        json.dump({"type": "bundle", "id": "bundle--" + str(uuid.uuid4()), "objects": objects}, f)
    return {
        "pages": pages,
        "ids": ids,
        "first_page_date_added_first": first.headers.get("X-TAXII-Date-Added-First"),
        "first_page_date_added_last": first.headers.get("X-TAXII-Date-Added-Last"),
    }


def post(url, user, password, envelope_file):
    coll = Collection(url, user=user, password=password)
    with open(envelope_file) as f:
        envelope = f.read()
    status = coll.add_objects(envelope, wait_for_completion=True, poll_interval=1, timeout=30)
    return {
        "id": status.id, "status": status.status, "total_count": status.total_count,
        "success_count": status.success_count, "failure_count": status.failure_count,
        "pending_count": status.pending_count, "successes": status.successes,
    }


def main(argv):
    cmds = {"discover": discover, "walk": walk, "post": post}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    result = cmds[argv[1]](*argv[2:])
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
