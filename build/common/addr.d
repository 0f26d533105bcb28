build/common/addr.o: common/addr.c common/addr.h common/event.h
common/addr.h:
common/event.h:
