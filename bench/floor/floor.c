/*
 * floor: the cheapest possible keyed module command, for `make bench` only (never shipped, never
 * built by `make build` / `make test`).
 *
 * FLOOR.INCR key does what every keyed module command has to do and nothing else: open the key
 * for read and write, check that it holds this module's own type (a type of its own holding one
 * 8-byte value; created when the key is empty), update the 8-byte value, reply with an integer,
 * close the key. Its cost per call is the module API's floor: whatever an idgen command costs
 * above it is idgen's own work.
 *
 * FLOOR.BATCH key n is the same with SEQ.NEXTBATCH's shape: it reads an integer argument, adds n
 * to the value and replies with the array [first, last] of the n values taken: the floor of a
 * command that hands out a range.
 *
 * FLOOR.TEXT key is FLOOR.INCR with UUID.NEXT's reply: the same key step, then it replies with a
 * 36-byte bulk string, the new value as a UUID's 8-4-4-4-12 lowercase hex text (the 128-bit value
 * 0:value, 16 two-digit table lookups and 4 dashes, in a stack buffer): the floor of a command
 * that replies with one UUID's text.
 *
 * Redis's redismodule.h is not used (Debian does not ship it, and the project does not vendor
 * other projects' code). The few declarations below are written from the module API reference:
 * a module finds each API function by name through the lookup function that Redis stores as the
 * first field of the context passed to RedisModule_OnLoad.
 *
 * Build: bench/floor/build.sh (cc -O2 -shared -fPIC), called by bench/run.sh and bench/profile.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct RedisModuleCtx RedisModuleCtx;
typedef struct RedisModuleKey RedisModuleKey;
typedef struct RedisModuleString RedisModuleString;
typedef struct RedisModuleType RedisModuleType;
typedef struct RedisModuleIO RedisModuleIO;

#define FLOOR_OK 0
#define FLOOR_ERR 1
#define FLOOR_APIVER_1 1
#define FLOOR_READ (1 << 0)
#define FLOOR_WRITE (1 << 1)
#define FLOOR_KEYTYPE_EMPTY 0
#define FLOOR_ENCVER 0

typedef int (*CmdFunc)(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);

/* Version 1 of the data type methods; Redis reads only the fields of the version given. */
typedef struct {
    uint64_t version;
    void *(*rdb_load)(RedisModuleIO *rdb, int encver);
    void (*rdb_save)(RedisModuleIO *rdb, void *value);
    void (*aof_rewrite)(RedisModuleIO *aof, RedisModuleString *key, void *value);
    size_t (*mem_usage)(const void *value);
    void (*digest)(void *digest, void *value);
    void (*free)(void *value);
} TypeMethodsV1;

static int (*GetApi)(const char *name, void *fnptr);
static void (*SetModuleAttribs)(RedisModuleCtx *ctx, const char *name, int ver, int apiver);
static int (*CreateCommand)(RedisModuleCtx *ctx, const char *name, CmdFunc fn, const char *flags,
                            int firstkey, int lastkey, int keystep);
static RedisModuleType *(*CreateDataType)(RedisModuleCtx *ctx, const char *name, int encver,
                                          void *methods);
static RedisModuleKey *(*OpenKey)(RedisModuleCtx *ctx, RedisModuleString *name, int mode);
static void (*CloseKey)(RedisModuleKey *key);
static int (*KeyType)(RedisModuleKey *key);
static RedisModuleType *(*ModuleTypeGetType)(RedisModuleKey *key);
static void *(*ModuleTypeGetValue)(RedisModuleKey *key);
static int (*ModuleTypeSetValue)(RedisModuleKey *key, RedisModuleType *mt, void *value);
static int (*ReplyWithLongLong)(RedisModuleCtx *ctx, long long ll);
static int (*ReplyWithArray)(RedisModuleCtx *ctx, long len);
static int (*ReplyWithStringBuffer)(RedisModuleCtx *ctx, const char *buf, size_t len);
static int (*StringToLongLong)(const RedisModuleString *str, long long *ll);
static int (*ReplyWithError)(RedisModuleCtx *ctx, const char *err);
static int (*WrongArity)(RedisModuleCtx *ctx);
static void *(*Alloc)(size_t bytes);
static void (*Free)(void *ptr);
static void (*SaveUnsigned)(RedisModuleIO *io, uint64_t value);
static uint64_t (*LoadUnsigned)(RedisModuleIO *io);

static const char *(*StringPtrLen)(const RedisModuleString *str, size_t *len);

static RedisModuleType *FloorType;

/* A key whose name ends in ":big" starts at 2^62, so that it replies with 19-digit integers as
 * a snowflake ID does (Redis formats every integer reply; more digits cost more). Only checked
 * when the key is created. */
static uint64_t floor_start(RedisModuleString *name) {
    size_t len;
    const char *p = StringPtrLen(name, &len);
    return (len >= 4 && memcmp(p + len - 4, ":big", 4) == 0) ? (uint64_t)1 << 62 : 0;
}

/* Opens the key read-write and returns its value, creating it when the key is empty; NULL (after
 * replying WRONGTYPE and closing the key) when the key holds another type. */
static uint64_t *floor_open(RedisModuleCtx *ctx, RedisModuleString *name, RedisModuleKey **key) {
    *key = OpenKey(ctx, name, FLOOR_READ | FLOOR_WRITE);
    uint64_t *v;
    if (ModuleTypeGetType(*key) == FloorType) {
        v = ModuleTypeGetValue(*key);
    } else if (KeyType(*key) == FLOOR_KEYTYPE_EMPTY) {
        v = Alloc(sizeof *v);
        *v = floor_start(name);
        ModuleTypeSetValue(*key, FloorType, v);
    } else {
        CloseKey(*key);
        ReplyWithError(ctx, "WRONGTYPE Operation against a key holding the wrong kind of value");
        return NULL;
    }
    return v;
}

static int floor_incr(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 2) return WrongArity(ctx);
    RedisModuleKey *key;
    uint64_t *v = floor_open(ctx, argv[1], &key);
    if (v == NULL) return FLOOR_OK;
    *v += 1;
    ReplyWithLongLong(ctx, (long long)*v);
    CloseKey(key);
    return FLOOR_OK;
}

static int floor_batch(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 3) return WrongArity(ctx);
    long long n;
    if (StringToLongLong(argv[2], &n) != FLOOR_OK || n < 1)
        return ReplyWithError(ctx, "ERR count must be a positive integer");
    RedisModuleKey *key;
    uint64_t *v = floor_open(ctx, argv[1], &key);
    if (v == NULL) return FLOOR_OK;
    long long first = (long long)*v + 1;
    *v += (uint64_t)n;
    ReplyWithArray(ctx, 2);
    ReplyWithLongLong(ctx, first);
    ReplyWithLongLong(ctx, (long long)*v);
    CloseKey(key);
    return FLOOR_OK;
}

/* "000102...ff": the two hex digits of each byte, filled by RedisModule_OnLoad. */
static char HexPairs[512];

/* The 36-character canonical text of the 128-bit value hi:lo (8-4-4-4-12, lowercase): 16 byte
 * lookups of two digits each into fixed places, and the 4 dashes. The cheap way to write a UUID's
 * text, so that the floor counts the reply, not a slow encoder. */
static void floor_uuid_text(char out[36], uint64_t hi, uint64_t lo) {
    static const unsigned char at[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
    for (int i = 0; i < 8; i++) {
        memcpy(out + at[i], HexPairs + 2 * ((hi >> (56 - 8 * i)) & 0xff), 2);
        memcpy(out + at[8 + i], HexPairs + 2 * ((lo >> (56 - 8 * i)) & 0xff), 2);
    }
    out[8] = out[13] = out[18] = out[23] = '-';
}

static int floor_text(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 2) return WrongArity(ctx);
    RedisModuleKey *key;
    uint64_t *v = floor_open(ctx, argv[1], &key);
    if (v == NULL) return FLOOR_OK;
    *v += 1;
    char buf[36];
    floor_uuid_text(buf, 0, *v);
    ReplyWithStringBuffer(ctx, buf, sizeof buf);
    CloseKey(key);
    return FLOOR_OK;
}

static void *floor_rdb_load(RedisModuleIO *rdb, int encver) {
    if (encver != FLOOR_ENCVER) return NULL;
    uint64_t *v = Alloc(sizeof *v);
    *v = LoadUnsigned(rdb);
    return v;
}

static void floor_rdb_save(RedisModuleIO *rdb, void *value) {
    SaveUnsigned(rdb, *(uint64_t *)value);
}

static size_t floor_mem_usage(const void *value) {
    (void)value;
    return sizeof(uint64_t);
}

static void floor_free(void *value) { Free(value); }

#define GET(fn) \
    if (GetApi("RedisModule_" #fn, (void *)&fn) != FLOOR_OK) return FLOOR_ERR

int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv;
    (void)argc;
    /* The API lookup function is the context's first field. */
    memcpy(&GetApi, (void *)ctx, sizeof GetApi);
    GET(SetModuleAttribs);
    GET(CreateCommand);
    GET(CreateDataType);
    GET(OpenKey);
    GET(CloseKey);
    GET(KeyType);
    GET(ModuleTypeGetType);
    GET(ModuleTypeGetValue);
    GET(ModuleTypeSetValue);
    GET(ReplyWithLongLong);
    GET(ReplyWithArray);
    GET(ReplyWithStringBuffer);
    GET(StringToLongLong);
    GET(ReplyWithError);
    GET(WrongArity);
    GET(Alloc);
    GET(Free);
    GET(SaveUnsigned);
    GET(LoadUnsigned);
    GET(StringPtrLen);
    SetModuleAttribs(ctx, "floor", 1, FLOOR_APIVER_1);
    for (int b = 0; b < 256; b++) {
        HexPairs[2 * b] = "0123456789abcdef"[b >> 4];
        HexPairs[2 * b + 1] = "0123456789abcdef"[b & 15];
    }

    TypeMethodsV1 tm = {
        .version = 1,
        .rdb_load = floor_rdb_load,
        .rdb_save = floor_rdb_save,
        .mem_usage = floor_mem_usage,
        .free = floor_free,
    };
    FloorType = CreateDataType(ctx, "floor-u64", FLOOR_ENCVER, &tm);
    if (FloorType == NULL) return FLOOR_ERR;
    /* Registered like idgen's keyed commands: same flags, key at argument 1. */
    if (CreateCommand(ctx, "floor.incr", floor_incr, "write deny-oom fast", 1, 1, 1) != FLOOR_OK)
        return FLOOR_ERR;
    if (CreateCommand(ctx, "floor.batch", floor_batch, "write deny-oom fast", 1, 1, 1) != FLOOR_OK)
        return FLOOR_ERR;
    if (CreateCommand(ctx, "floor.text", floor_text, "write deny-oom fast", 1, 1, 1) != FLOOR_OK)
        return FLOOR_ERR;
    return FLOOR_OK;
}
