/* bcryptprimitives.dll for Wine 8, which has none: Go's runtime (1.24 and
 * later) takes its random bytes from ProcessPrng there and aborts at start
 * without it. scripts/windows/test.sh builds this into the test prefix's
 * system32; Windows 10 and later ship the real DLL. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
