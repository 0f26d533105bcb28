"""A Client driving helpers/sock_client.py (client.py plus UDP and AF_UNIX ops)."""
import os

import e2elib

SOCK_CLIENT = os.path.join(e2elib.HERE, "helpers", "sock_client.py")


class SockClient(e2elib.Client):
    def __init__(self, ctx, comm, netns=None):  # pylint: disable=super-init-not-called
        if len(comm) > 15:
            raise ValueError("comm too long: " + comm)
        self.comm = comm
        self.ctx = ctx
        self.p = e2elib.Forked(SOCK_CLIENT, [comm])
        self.pid = self.p.pid
        ctx.defer(self.kill)
        if netns is not None:
            self.call("setns", path=netns.path)
        self.netns = netns


def client(ctx, role, netns=None):
    return SockClient(ctx, ctx.comm(role), netns)
