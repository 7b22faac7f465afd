// The dbox agent's wire protocol (src/agent/protocol.ts is the other side; keep them in step).
//
// One byte stream each way (the agent's stdin and stdout, through an exec of the engine). Every
// message is a frame: a 12-byte header, little-endian,
//     u32 length of the payload (at most AGENT_MAX_PAYLOAD)
//     u32 request id (chosen by the client; the agent's replies carry the id they answer)
//     u16 type
//     u16 flags (0)
// then the payload. Requests are pipelined: a client sends many before any answer, answers come
// in any order. A request ends with exactly one OK or ERR; streams (reads, listings) send DATA,
// META or ENTRIES frames before it; a write is followed by the client's WDATA frames and WEND.
// Flow control by credit: the agent sends at most AGENT_WINDOW bytes of a read beyond what the
// client has acknowledged (CREDIT), and the client sends at most AGENT_WINDOW bytes of a write
// beyond what the agent has acknowledged.
//
// Payload fields: integers little-endian; a string is u16 length then that many bytes (no NUL);
// a stat is 16 signed 64-bit integers: dev ino mode nlink uid gid rdev size blksize blocks
// atime_s atime_ns mtime_s mtime_ns ctime_s ctime_ns. An entry (ENTRIES) is a string (the name),
// u8 d_type, u8 what follows (bit 0: a stat, bit 1: a link target), the stat, the target (a string).
#ifndef DBOX_AGENT_PROTOCOL_H
#define DBOX_AGENT_PROTOCOL_H

#define AGENT_VERSION 1
#define AGENT_HEADER 12
#define AGENT_MAX_PAYLOAD ((1u << 20) + 4096)
#define AGENT_CHUNK (256u << 10)
#define AGENT_WINDOW (4u << 20)
#define AGENT_STAT_LEN 128

// client -> agent
enum {
  A_HELLO = 1,       // u32 version                          -> OK u32 version
  A_ROOT = 2,        // u32 handle (chosen by the client), u32 pid, 64 bytes container id -> OK
  A_ROOT_CLOSE = 3,  // u32 handle -> OK once no request holds it and its fds are closed
  A_ROOT_MERGED = 4, // u32 handle, str MergedDir of a stopped container the engine holds mounted -> OK (EAGAIN: not mounted)
  A_ROOT_LAYERS = 5, // u32 handle, u8 kind (0: read-only union of layers, 1: one directory read-write), str data root,
                     //   u16 count, str path * count (top layer first) -> OK (layers.c)
  A_STAT = 10,       // u32 h, u8 follow, str path            -> OK stat
  A_READDIR = 11,    // u32 h, u8 with_stat, str path         -> ENTRIES*, OK u32 count
  A_READLINK = 12,   // u32 h, str path                       -> OK str
  A_READ = 13,       // u32 h, u64 offset, i64 length, str path -> META stat, DATA*, OK u64 bytes
  A_WRITE = 14,      // u32 h, u32 flags, u32 mode, i64 uid, i64 gid, i64 mtime_s, u32 mtime_ns, str path
                     //   then WDATA*, WEND                    -> CREDIT*, OK
  A_WDATA = 15,      // bytes of the write with this id
  A_WEND = 16,       // the write's bytes are complete
  A_MKDIR = 17,      // u32 h, u32 mode, str path
  A_RMDIR = 18,      // u32 h, str path
  A_UNLINK = 19,     // u32 h, str path
  A_RENAME = 20,     // u32 h1, str from, u32 h2, str to, u32 flags
  A_SYMLINK = 21,    // u32 h, str target, str path
  A_LINK = 22,       // u32 h1, str from, u32 h2, str to
  A_CHMOD = 23,      // u32 h, u32 mode, str path
  A_CHOWN = 24,      // u32 h, u32 uid, u32 gid, u8 follow, str path
  A_UTIMES = 25,     // u32 h, i64 atime_s, u32 atime_ns, i64 mtime_s, u32 mtime_ns, u8 follow, str path
  A_TRUNCATE = 26,   // u32 h, u64 length, str path
  A_STATFS = 27,     // u32 h, str path                       -> OK 7 x u64: bsize blocks bfree bavail files ffree namelen
  A_REMOVE = 28,     // u32 h, str path
  A_COPY_TREE = 29,  // u32 h1, str from, u32 h2, str to, u8 preserve -> OK u64 bytes, u64 files
  A_COPY_FILE = 30,  // u32 h1, str from, u32 h2, str to, u8 preserve -> OK u64 bytes (to is replaced atomically)
  A_FD_CHANNEL = 31, // u32 pid, u32 uid, str directory (the client's): -> OK str socket name, 16 bytes token
  A_OPEN_FD = 32,    // u32 kind 0 (read): u32 h, str path -> the fd on the channel, OK stat
                     // u32 kind 1 (write): a WRITE's fields -> the fd of the new file on the channel, OK
                     // u32 kind 2 (the root): u32 h of a root of the agent's own (ROOT_LAYERS) -> its fd on the channel, OK
  A_COMMIT = 33,     // u32 id of an OPEN_FD write, u8 keep -> OK (the file in place), or ERR
  A_DOOR = 34,       // u32 pid, u32 uid, str directory (the client's), str name -> OK: the keeper listens there
  A_CANCEL = 40,     // (id of the request to stop)
  A_CREDIT = 41,     // (id of a read) u32 bytes the client has taken
};

// WRITE flags
#define AW_EXCL 1u  // fail with EEXIST when the path exists
#define AW_INPLACE 2u  // an existing regular file is written in place (O_TRUNC: its inode, mode, owner and links kept), as cp does

// agent -> client
enum {
  A_OK = 100,
  A_ERR = 101,       // u32 errno
  A_DATA = 102,      // bytes of a read
  A_META = 103,      // stat of the file a read opened
  A_WCREDIT = 104,   // u32 bytes of a write the agent has written
  A_ENTRIES = 105,   // entries of a listing
};

#endif
