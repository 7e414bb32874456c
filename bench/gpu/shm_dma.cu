// shm_dma: checks, on a machine with an NVIDIA GPU, the plan docs/sdk.md gives a GPU engine for
// kvstore's shared-memory path: map a region file from /dev/shm (as the SDK maps its region: a
// MAP_SHARED mapping of a tmpfs file), pin it with cudaHostRegister once, then DMA pages between it
// and device memory. It times the registration and the copies, against the same copies from a
// pageable heap buffer and from cudaMallocHost memory, and checks the bytes.
//
//   nvcc -O2 -o shm_dma bench/gpu/shm_dma.cu && ./shm_dma [region MiB, default 160] [page KiB, default 2048]
//
// Nothing in the build or the tests needs it (bench/README.md, "A GPU engine on the shared-memory
// path").
#include <cuda_runtime.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CHECK(x)                                                                     \
  do {                                                                               \
    cudaError_t e = (x);                                                             \
    if (e != cudaSuccess) {                                                          \
      std::printf("FAILED %s: %s (%d)\n", #x, cudaGetErrorString(e), (int)e);        \
      std::exit(2);                                                                  \
    }                                                                                \
  } while (0)

static double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Copies every page of src (host) to dst (device) with one cudaMemcpyAsync per page, `rounds`
// times; returns GB/s (10^9 bytes per second).
static double h2d(void* dst, const char* src, size_t pages, size_t page, int rounds, cudaStream_t s) {
  for (size_t i = 0; i < pages; i++) {  // warm-up round
    CHECK(cudaMemcpyAsync((char*)dst + i * page, src + i * page, page, cudaMemcpyHostToDevice, s));
  }
  CHECK(cudaStreamSynchronize(s));
  double t0 = now_ms();
  for (int r = 0; r < rounds; r++) {
    for (size_t i = 0; i < pages; i++) {
      CHECK(cudaMemcpyAsync((char*)dst + i * page, src + i * page, page, cudaMemcpyHostToDevice, s));
    }
  }
  CHECK(cudaStreamSynchronize(s));
  double ms = now_ms() - t0;
  return (double)pages * page * rounds / (ms * 1e6);
}

static double d2h(char* dst, const void* src, size_t pages, size_t page, int rounds, cudaStream_t s) {
  for (size_t i = 0; i < pages; i++) {
    CHECK(cudaMemcpyAsync(dst + i * page, (const char*)src + i * page, page, cudaMemcpyDeviceToHost, s));
  }
  CHECK(cudaStreamSynchronize(s));
  double t0 = now_ms();
  for (int r = 0; r < rounds; r++) {
    for (size_t i = 0; i < pages; i++) {
      CHECK(cudaMemcpyAsync(dst + i * page, (const char*)src + i * page, page, cudaMemcpyDeviceToHost, s));
    }
  }
  CHECK(cudaStreamSynchronize(s));
  double ms = now_ms() - t0;
  return (double)pages * page * rounds / (ms * 1e6);
}

int main(int argc, char** argv) {
  size_t region = (size_t)(argc > 1 ? std::atol(argv[1]) : 160) << 20;
  size_t page = (size_t)(argc > 2 ? std::atol(argv[2]) : 2048) << 10;
  size_t pages = region / page;
  const int rounds = 10;
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device %s; region %zu MiB, %zu pages of %zu KiB, %d rounds\n", prop.name,
              region >> 20, pages, page >> 10, rounds);

  // The region as the SDK has it: a tmpfs file, mapped shared.
  const char* path = "/dev/shm/kvstore-shm-dma-check";
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, (off_t)region) != 0) {
    std::printf("FAILED to make %s\n", path);
    return 2;
  }
  char* shm = (char*)mmap(nullptr, region, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (shm == MAP_FAILED) {
    std::printf("FAILED mmap\n");
    return 2;
  }
  for (size_t i = 0; i < region; i += 8) {
    *(uint64_t*)(shm + i) = i * 0x9E3779B97F4A7C15ull;
  }
  double t0 = now_ms();
  cudaError_t reg = cudaHostRegister(shm, region, cudaHostRegisterDefault);
  double reg_ms = now_ms() - t0;
  std::printf("cudaHostRegister(tmpfs MAP_SHARED, %zu MiB): %s in %.2f ms\n", region >> 20,
              cudaGetErrorString(reg), reg_ms);

  void* dev;
  CHECK(cudaMalloc(&dev, region));
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));

  char* pageable = (char*)std::malloc(region);
  std::memcpy(pageable, shm, region);
  char* pinned;
  CHECK(cudaMallocHost((void**)&pinned, region));
  std::memcpy(pinned, shm, region);

  if (reg == cudaSuccess) {
    std::printf("H2D from the registered region:  %.1f GB/s\n", h2d(dev, shm, pages, page, rounds, s));
  }
  std::printf("H2D from cudaMallocHost memory:  %.1f GB/s\n", h2d(dev, pinned, pages, page, rounds, s));
  std::printf("H2D from pageable heap memory:   %.1f GB/s\n", h2d(dev, pageable, pages, page, rounds, s));

  // The bytes that reached the device are the region's.
  CHECK(cudaMemcpy(dev, shm, region, cudaMemcpyHostToDevice));
  std::memset(pinned, 0, region);
  CHECK(cudaMemcpy(pinned, dev, region, cudaMemcpyDeviceToHost));
  std::printf("bytes on the device equal the region's: %s\n",
              std::memcmp(pinned, shm, region) == 0 ? "yes" : "NO");

  if (reg == cudaSuccess) {
    // The PUT direction: device pages into the region.
    std::printf("D2H into the registered region:  %.1f GB/s\n", d2h(shm, dev, pages, page, rounds, s));
  }
  std::printf("D2H into cudaMallocHost memory:  %.1f GB/s\n", d2h(pinned, dev, pages, page, rounds, s));
  std::printf("D2H into pageable heap memory:   %.1f GB/s\n", d2h(pageable, dev, pages, page, rounds, s));

  // A second process's view: the file, read back through a new mapping, holds what the DMA wrote.
  CHECK(cudaMemset(dev, 0x5A, page));
  CHECK(cudaMemcpy(shm, dev, page, cudaMemcpyDeviceToHost));
  char* again = (char*)mmap(nullptr, page, PROT_READ, MAP_SHARED, fd, 0);
  bool seen = again != MAP_FAILED && again[0] == 0x5A && again[page - 1] == 0x5A;
  std::printf("a DMA into the region is seen through another mapping of the file: %s\n",
              seen ? "yes" : "NO");

  if (reg == cudaSuccess) {
    t0 = now_ms();
    CHECK(cudaHostUnregister(shm));
    std::printf("cudaHostUnregister: %.2f ms\n", now_ms() - t0);
  }
  munmap(shm, region);
  close(fd);
  unlink(path);
  return 0;
}
