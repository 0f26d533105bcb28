build/common/output.o: common/output.c common/addr.h common/escape.h \
 common/log.h common/output.h common/args.h common/event.h \
 common/backend.h
common/addr.h:
common/escape.h:
common/log.h:
common/output.h:
common/args.h:
common/event.h:
common/backend.h:
