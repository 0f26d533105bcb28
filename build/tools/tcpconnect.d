build/tools/tcpconnect.o: tools/tcpconnect.c common/addr.h common/args.h \
 common/event.h common/backend.h common/log.h common/output.h \
 common/args.h common/session.h common/output.h bpf/tcpconnect.h \
 common/event.h build/tcpconnect.skel.h
common/addr.h:
common/args.h:
common/event.h:
common/backend.h:
common/log.h:
common/output.h:
common/args.h:
common/session.h:
common/output.h:
bpf/tcpconnect.h:
common/event.h:
build/tcpconnect.skel.h:
