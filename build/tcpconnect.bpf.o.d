build/tcpconnect.bpf.o: bpf/tcpconnect.bpf.c build/vmlinux.h \
  bpf/tcpconnect.h common/event.h bpf/filter.bpf.h bpf/emit.bpf.h \
  bpf/sock.bpf.h bpf/follow.bpf.h

build/vmlinux.h:

bpf/tcpconnect.h:

common/event.h:

bpf/filter.bpf.h:

bpf/emit.bpf.h:

bpf/sock.bpf.h:

bpf/follow.bpf.h:
