build/common/args.o: common/args.c common/args.h common/event.h \
 common/backend.h common/log.h
common/args.h:
common/event.h:
common/backend.h:
common/log.h:
