/*
 * fuzz_ipc - the frame reader and field parser on arbitrary bytes, as a
 * hostile worker could send them to the supervisor: the bytes go through
 * a real socketpair into ipc_reader_fill/ipc_reader_next (cap 4096), and
 * every complete frame through ipc_parse and the field getters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pipeline/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipc_view view;
	struct ipc_reader r;
	struct dk_err err = DK_ERR_INIT;
	const char *p;
	size_t n;
	int sv[2];

	if (size > 60000 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 0;
	if (size && write(sv[0], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	close(sv[0]);
	ipc_reader_init(&r, 4096);
	for (;;) {
		int rc = ipc_reader_next(&r, &p, &n, &err);

		if (rc < 0)
			break;
		if (rc == 1) {
			char s[32];

			if (ipc_parse(p, n, &view, &err) == 0) {
				ipc_get_str(&view, 's', s, sizeof s);
				ipc_get_i64(&view, 's', 0);
			}
			continue;
		}
		if (ipc_reader_fill(&r, sv[1], &err) != 0)
			break;
	}
	ipc_reader_release(&r);
	close(sv[1]);
	return 0;
}
