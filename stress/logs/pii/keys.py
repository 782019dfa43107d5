"""The kind of personal data a JSON key announces ("phone", "customer_name", "Geburtsdatum"):
the whole value stored under it is taken as one, when it has the kind's look."""

from __future__ import annotations

import functools
import re

_KEYS = {
    "email": "email e-mail mail emailaddress correo courriel",
    "phone": "phone telephone tel mobile cell cellphone fax phonenumber msisdn whatsapp telefon "
    "handy rufnummer telefono teléfono téléphone portable movil móvil celular cellulare "
    "telefoon mobiel telefone telefonu телефон",
    "card": "card cardnumber cc ccnumber pan creditcard kreditkarte carte tarjeta",
    "national_id": "ssn nationalid taxid tin vat passport passportnumber idnumber personalid "
    "nif nie dni cif nir insee pesel nip cpf cnpj bsn personnummer codicefiscale steuerid "
    "idnr aadhaar nino nhs tckimlik kimlik inn snils cpr hetu",
    "iban": "iban",
    "dob": "dob birthdate birthday dateofbirth geburtsdatum naissance nacimiento nascita "
    "nascimento urodzenia födelsedatum fødselsdato doğumtarihi",
    "address": "address street streetaddress addressline addressline1 addressline2 adresse "
    "anschrift straße strasse direccion dirección indirizzo endereço endereco adres adress "
    "adresa адрес",
    "name": "name fullname firstname lastname givenname familyname surname middlename "
    "customer customername patient patientname contact contactname recipient sender author "
    "vorname nachname nom prenom prénom nombre apellido apellidos nome cognome naam voornaam "
    "achternaam imie imię nazwisko namn efternamn fornavn efternavn ad soyad soyadı имя "
    "фамилия отчество фио",
    "ip": "ip ipaddress ipv4 ipv6 clientip remoteaddr",
}
_BY_KEY = {word: kind for kind, text in _KEYS.items() for word in text.split()}
_NOT_PERSONAL = re.compile(r"product|file|model|company|item|city|country|host|server|domain")
_LOOKS = {
    "name": re.compile(r"[^\W\d_][\w'’.-]*(?: [\w'’.-]+){0,5}"),
    "phone": re.compile(r"\+?[0-9 ().\-/x]{6,24}"),
    "card": re.compile(r"[0-9][0-9 .-]{10,24}[0-9]"),
    "national_id": re.compile(r"[0-9A-Za-z][0-9A-Za-z ./-]{4,24}"),
    "dob": re.compile(r"[0-9][0-9 ./-]{5,9}[0-9]|.{0,12}[0-9]{4}"),
    "address": re.compile(r"(?s).*[^\W\d_].*"),
    "email": re.compile(r"\S+@\S+"),
    "iban": re.compile(r"[A-Za-z]{2}[0-9]{2}[0-9A-Za-z ]{8,40}"),
    "ip": re.compile(r"[0-9a-fA-F:.]{3,45}"),
}


def _normal(key: str) -> str:
    # customerName, customer_name, Customer-Name, customer.name → customername.
    return re.sub(r"[\s_.\-]+", "", key).lower()


@functools.lru_cache(maxsize=4096)
def _kind_named(key: str) -> str | None:
    """The kind a key's name announces (a log has few keys, each seen many times)."""
    normal = _normal(key)
    if not normal or _NOT_PERSONAL.search(normal):
        return None
    kind = _BY_KEY.get(normal)
    if kind is None:
        parts = [p.lower() for p in re.split(r"[\s_.\-]+|(?<=[a-z])(?=[A-Z])", key) if p]
        kind = _BY_KEY.get(parts[-1]) if parts else None
    return kind


def kind_of_key(key: str, value: str) -> str | None:
    """The kind ``key`` announces for ``value`` (None: nothing, or a value without its look)."""
    kind = _kind_named(key)
    if kind is None:
        return None
    stripped = value.strip()
    if not stripped or len(stripped) > 200 or not _LOOKS[kind].fullmatch(stripped):
        return None
    if kind in ("phone", "card", "national_id", "dob") and sum(c.isdigit() for c in stripped) < 6:
        return None
    return kind
