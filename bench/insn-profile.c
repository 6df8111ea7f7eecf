// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest instructions executed per
 * translation block start address, for an instruction-level profile of the
 * guest kernel (perf's cpu-clock samples say nothing under -icount).
 *
 *   qemu-system-x86_64 ... -plugin insn-profile.so,out=FILE[,mark=ADDR]...
 *
 * Each execution of the block starting at a mark address (a kernel
 * function's entry, from System.map) appends a snapshot of every count to
 * FILE: a line "@snap N mark ADDR" and one line "ADDR INSNS EXECS" per
 * block start: the instructions executed in blocks starting there so far,
 * and how often such a block ran (at a function's entry, its calls). QEMU's exit appends a last one
 * ("@snap N exit"). bench/profile.py turns the difference of two snapshots
 * into instructions per function.
 *
 * A block's instructions are charged to its start address, and a block
 * left early (an exception) is charged in full: the error is a few
 * instructions per fault. Only QEMU 7.2's plugin API (version 1) is used,
 * declared below: Debian ships no qemu-plugin.h.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* QEMU 7.2 include/qemu/qemu-plugin.h, the part used here */
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id,
					       struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
					  qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags,
					  void *userdata);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
					      enum qemu_plugin_op op,
					      void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
				    qemu_plugin_udata_cb_t cb, void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAX_MARKS	8
#define MAX_SNAPS	64

/* One translation of a block: a block translated again (the code cache
 * was flushed, or icount cut it short) gets another record.
 */
struct rec {
	uint64_t vaddr;
	uint64_t n_insns;
	uint64_t execs;		/* added to by the generated code */
};

static struct rec **recs;
static size_t nr_recs, cap_recs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t marks[MAX_MARKS];
static int nr_marks, nr_snaps;
static FILE *out;

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = *(const struct rec **)a, *y = *(const struct rec **)b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* Instructions per block start so far, one line each, records of one
 * start address summed.
 */
static void snapshot(const char *why, uint64_t addr)
{
	size_t i;

	pthread_mutex_lock(&lock);
	if (nr_snaps++ >= MAX_SNAPS)
		goto out;
	qsort(recs, nr_recs, sizeof(*recs), cmp_rec);
	fprintf(out, "@snap %d %s %" PRIx64 "\n", nr_snaps - 1, why, addr);
	for (i = 0; i < nr_recs;) {
		uint64_t vaddr = recs[i]->vaddr, insns = 0, execs = 0;

		for (; i < nr_recs && recs[i]->vaddr == vaddr; i++) {
			insns += recs[i]->execs * recs[i]->n_insns;
			execs += recs[i]->execs;
		}
		if (execs)
			fprintf(out, "%" PRIx64 " %" PRIu64 " %" PRIu64 "\n",
				vaddr, insns, execs);
	}
	fflush(out);
out:
	pthread_mutex_unlock(&lock);
}

static void mark_hit(unsigned int vcpu __attribute__((unused)), void *udata)
{
	snapshot("mark", (uintptr_t)udata);
}

static void tb_trans(qemu_plugin_id_t id __attribute__((unused)),
		     struct qemu_plugin_tb *tb)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	struct rec *r = calloc(1, sizeof(*r));
	int i;

	if (!r)
		abort();
	r->vaddr = vaddr;
	r->n_insns = qemu_plugin_tb_n_insns(tb);
	pthread_mutex_lock(&lock);
	if (nr_recs == cap_recs) {
		cap_recs = cap_recs ? 2 * cap_recs : 65536;
		recs = realloc(recs, cap_recs * sizeof(*recs));
		if (!recs)
			abort();
	}
	recs[nr_recs++] = r;
	pthread_mutex_unlock(&lock);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &r->execs, 1);
	for (i = 0; i < nr_marks; i++)
		if (vaddr == marks[i])
			qemu_plugin_register_vcpu_tb_exec_cb(tb, mark_hit,
							     QEMU_PLUGIN_CB_NO_REGS,
							     (void *)(uintptr_t)vaddr);
}

static void at_exit(qemu_plugin_id_t id __attribute__((unused)),
		    void *udata __attribute__((unused)))
{
	snapshot("exit", 0);
	fclose(out);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			int argc, char **argv)
{
	const char *path = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
		else if (!strncmp(argv[i], "mark=", 5) && nr_marks < MAX_MARKS)
			marks[nr_marks++] = strtoull(argv[i] + 5, NULL, 16);
		else {
			fprintf(stderr, "insn-profile: unknown argument %s\n", argv[i]);
			return -1;
		}
	}
	if (!path) {
		fprintf(stderr, "insn-profile: out=FILE missing\n");
		return -1;
	}
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
