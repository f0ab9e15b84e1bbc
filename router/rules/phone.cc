/*
 * phone.cc - phone numbers in E.164, by libphonenumber (C++).
 *
 * The only C++ in the tree: it exposes the C functions of normalize.h and
 * keeps every C++ exception inside (an exception unwinding through C
 * frames is undefined behaviour), turning bad_alloc into GW_ENOMEM and
 * anything else into GW_EINVAL.
 *
 * PhoneNumberUtil is a process-wide singleton whose const methods are
 * thread-safe (its regex cache takes its own lock), hence "safe from any
 * thread" in the header.
 */
#include <phonenumbers/phonenumberutil.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <set>
#include <string>

extern "C" {
#include "core/err.h"
#include "router/rules/normalize.h"
}

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

/* E.164 allows 15 digits; a wa_id is that without the '+'. */
const size_t kWaIdMax = 15;

/* libphonenumber's region codes are upper-case ("FR"); operators write
 * either. "ZZ" is its "unknown region": only international forms parse. */
std::string phone_region(const char *region)
{
	std::string r = (region && region[0]) ? region : "ZZ";
	for (char &c : r)
		if (c >= 'a' && c <= 'z')
			c = static_cast<char>(c - 'a' + 'A');
	return r;
}

/*
 * Brazil's mobile numbers gained a ninth digit (a leading 9) between 2012
 * and 2016; WhatsApp ids, old address books and some gateways still write
 * many of them with eight: +55 11 8765-4321 for +55 11 98765-4321. Both
 * must be one customer, so an eight-digit subscriber number of a mobile
 * range (first digit 6-9) under a two-digit area code is given its nine:
 * the form every Brazilian mobile has today (ANATEL), and the one
 * libphonenumber's metadata calls valid.
 */
const int kBrazil = 55;

void brazil_ninth_digit(PhoneNumber *number)
{
	uint64_t nn = number->national_number();
	uint64_t sub = nn % 100000000ULL; /* the last eight digits */

	if (number->country_code() != kBrazil || nn < 1000000000ULL || nn > 9999999999ULL)
		return; /* not ten digits: area code (2) + subscriber (8) */
	if (sub / 10000000ULL < 6)
		return; /* a landline (2-5): eight digits is right */
	number->set_national_number((nn / 100000000ULL) * 1000000000ULL + 900000000ULL + sub);
}

/*
 * Parse, validate, format: the common path of norm_phone and norm_wa_id.
 * `mobile`: the number is known to be a mobile's (a WhatsApp id), so an
 * eight-digit Brazilian number that would also be a valid landline is read
 * as the mobile it is when the ninth digit makes it one.
 */
int phone_e164(const std::string &in, const std::string &region, bool mobile, char *out,
	       size_t size)
{
	const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
	PhoneNumber number, nine;
	std::string e164;

	if (util->Parse(in, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR)
		return GW_EINVAL;
	nine = number;
	brazil_ninth_digit(&nine);
	if (!util->IsValidNumber(number) ||
	    (mobile && util->GetNumberType(number) != PhoneNumberUtil::MOBILE &&
	     util->GetNumberType(nine) == PhoneNumberUtil::MOBILE))
		number = nine;
	if (!util->IsValidNumber(number))
		return GW_EINVAL;
	util->Format(number, PhoneNumberUtil::E164, &e164);
	if (!out || e164.size() + 1 > size)
		return GW_ETOOBIG;
	std::memcpy(out, e164.c_str(), e164.size() + 1);
	return GW_OK;
}

void phone_clear(char *out, size_t size)
{
	if (out && size > 0)
		out[0] = '\0';
}

} // namespace

extern "C" int norm_phone(const char *in, const char *region, char *out, size_t size)
{
	phone_clear(out, size);
	if (!in)
		return GW_EINVAL;
	try {
		return phone_e164(in, phone_region(region), false, out, size);
	} catch (const std::bad_alloc &) {
		return GW_ENOMEM;
	} catch (...) {
		return GW_EINVAL;
	}
}

extern "C" int norm_wa_id(const char *wa_id, char *out, size_t size)
{
	size_t i, n;

	phone_clear(out, size);
	if (!wa_id)
		return GW_EINVAL;
	/* Digits only: a '+' or a national form here means a caller mixed up
	 * fields, which is worth an error rather than a lenient parse. */
	n = std::strlen(wa_id);
	if (n == 0 || n > kWaIdMax)
		return GW_EINVAL;
	for (i = 0; i < n; i++)
		if (wa_id[i] < '0' || wa_id[i] > '9')
			return GW_EINVAL;
	try {
		return phone_e164(std::string("+") + wa_id, "ZZ", true, out, size);
	} catch (const std::bad_alloc &) {
		return GW_ENOMEM;
	} catch (...) {
		return GW_EINVAL;
	}
}

extern "C" int norm_region_valid(const char *region)
{
	if (!region || !region[0])
		return 0;
	try {
		std::set<std::string> regions;
		PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
		return regions.count(phone_region(region)) ? 1 : 0;
	} catch (...) {
		return 0;
	}
}
