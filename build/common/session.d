build/common/session.o: common/session.c common/log.h common/session.h \
 common/args.h common/event.h common/backend.h common/output.h
common/log.h:
common/session.h:
common/args.h:
common/event.h:
common/backend.h:
common/output.h:
