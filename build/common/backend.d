build/common/backend.o: common/backend.c common/backend.h common/event.h \
 common/log.h
common/backend.h:
common/event.h:
common/log.h:
