// Actors: the person, the entourage, professionals and structures.
// FR Core elements are re-declared (identifier systems, INS slices, identity reliability);
// see profiles/README.md, "FR Core gap".

Profile: CMPatient
Parent: Patient
Id: cm-patient
Title: "Personne accompagnée (Person supported)"
Description: "La personne accompagnée. Identifiants alignés sur FR Core : INS (NIR ou NIA, seulement avec une identité qualifiée), IPP local de chaque structure ; traits INS (nom de naissance, lieu de naissance). The person supported, with FR Core-aligned identifiers."
* insert ConformanceMetadata
* obeys cm-pat-1
* extension contains
    FRCoreIdentityReliabilityStandIn named identityReliability 0..1 MS and
    $patient-birthPlace named birthPlace 0..1 MS
* extension[identityReliability] ^short = "Statut de confiance de l'identité (RNIV) | Identity status"
* extension[birthPlace] ^short = "Lieu de naissance (trait INS : code INSEE dans l'extension fr-core-address-insee-code) | Place of birth"
* identifier 1..* MS
* identifier ^short = "INS (si identité qualifiée) et IPP de chaque structure | INS (qualified identity only) and local patient ids"
* identifier ^comment = "L'IPP d'une structure a pour `system` l'espace de noms de cette structure et pour `type` v2-0203#PI. The local patient id (IPP) uses the structure's namespace as system and type v2-0203#PI."
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier ^slicing.description = "Slices by system: the INS systems of FR Core (production and test OIDs); other identifiers are local ones (IPP)."
* identifier contains
    insNir 0..1 MS and
    insNia 0..1 MS and
    insNirTest 0..1 and
    insNirDemo 0..1
* identifier[insNir] ^short = "INS-NIR (production) | INS from the NIR"
* identifier[insNir].system = $ins-nir (exactly)
* identifier[insNir].type = $fr-core-cs-v2-0203#INS-NIR
* identifier[insNir].value 1..1
* identifier[insNia] ^short = "INS-NIA (production) | INS from the NIA"
* identifier[insNia].system = $ins-nia (exactly)
* identifier[insNia].type = $fr-core-cs-v2-0203#INS-NIA
* identifier[insNia].value 1..1
* identifier[insNirTest] ^short = "INS-NIR de test (données de test) | INS-NIR test OID"
* identifier[insNirTest].system = $ins-nir-test (exactly)
* identifier[insNirTest].type = $fr-core-cs-v2-0203#INS-NIR
* identifier[insNirTest].value 1..1
* identifier[insNirDemo] ^short = "INS-NIR de démonstration | INS-NIR demo OID"
* identifier[insNirDemo].system = $ins-nir-demo (exactly)
* identifier[insNirDemo].type = $fr-core-cs-v2-0203#INS-NIR
* identifier[insNirDemo].value 1..1
* name 1..* MS
* name ^short = "Nom d'usage (use = usual) et nom de naissance (use = official, trait INS) | Usual and birth names"
* name.family MS
* name.given MS
* name.use MS
* telecom MS
* gender MS
* birthDate MS
* address MS

Profile: CMRelatedPerson
Parent: RelatedPerson
Id: cm-related-person
Title: "Personne de l'entourage (Related person)"
Description: "Personne de l'entourage : aidant, personne de confiance, responsable légal, personne à prévenir (rôle TRE_R260) et lien de parenté (HL7 v3 RoleCode). Member of the person's entourage, with a TRE_R260 role and a kinship."
* insert ConformanceMetadata
* obeys cm-rp-1
* identifier MS
* active MS
* patient only Reference(CMPatient)
* patient MS
* relationship 1..* MS
* relationship ^short = "Rôle (TRE_R260, obligatoire) et lien de parenté (v3 RoleCode) | Role (TRE_R260, required) and kinship"
* relationship ^comment = "Un CodeableConcept pour le rôle (ValueSet cm-related-person-role) et, si connu, un autre pour le lien de parenté (ValueSet cm-kinship). One CodeableConcept for the role and, when known, another for the kinship."
* name 1..* MS
* telecom MS

Profile: CMPractitioner
Parent: Practitioner
Id: cm-practitioner
Title: "Professionnel (Practitioner)"
Description: "Professionnel intervenant dans l'accompagnement, identifié par son RPPS quand il en a un. Ses professions et sa structure sont portées par PractitionerRole. A professional, identified by RPPS when available; professions and structure are on PractitionerRole."
* insert ConformanceMetadata
* identifier MS
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier contains rpps 0..1 MS
* identifier[rpps] ^short = "Identifiant RPPS | RPPS national identifier"
* identifier[rpps].system = $rpps (exactly)
* identifier[rpps].type = $fr-core-cs-v2-0203#RPPS
* identifier[rpps].value 1..1
* name 1..* MS
* name.family 1..1 MS
* name.given MS
* telecom MS

Profile: CMPractitionerRole
Parent: PractitionerRole
Id: cm-practitioner-role
Title: "Professionnel dans une structure (Practitioner role)"
Description: "Un professionnel agissant pour une structure, avec sa profession (nomenclatures NOS). C'est la ressource référencée dans l'équipe (CareTeam.participant.member), car R4 (ctm-1) n'autorise onBehalfOf qu'avec un Practitioner. A professional acting for a structure, with NOS profession codes; this is what care teams reference."
* insert ConformanceMetadata
* identifier MS
* active MS
* period MS
* practitioner 1..1 MS
* practitioner only Reference(CMPractitioner)
* organization 1..1 MS
* organization only Reference(CMOrganization)
* code MS
* code from CMProfessionVS (extensible)
* code ^short = "Profession ou rôle (TRE_G15, TRE_R95, TRE_R94, TRE_R85, TRE_R243) | Profession or role (NOS)"
* specialty MS
* specialty from CMSpecialtyVS (extensible)
* specialty ^short = "Spécialité ordinale (TRE_R38) | Medical specialty"
* telecom MS

Profile: CMOrganization
Parent: Organization
Id: cm-organization
Title: "Structure (Organization)"
Description: "Structure sanitaire, médico-sociale, sociale ou de coordination : identifiants FINESS et SIRET, catégorie d'établissement TRE_R66. A health, medico-social, social or coordination structure."
* insert ConformanceMetadata
* identifier MS
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier contains finess 0..1 MS and siret 0..1 MS
* identifier[finess] ^short = "Numéro FINESS (géographique FINEG ou juridique FINEJ) | FINESS number"
* identifier[finess].system = $finess (exactly)
* identifier[finess].value 1..1
* identifier[siret] ^short = "Numéro SIRET | SIRET number"
* identifier[siret].system = $siret (exactly)
* identifier[siret].type = $fr-core-cs-v2-0203#SIRET
* identifier[siret].value 1..1
* active MS
* type MS
* type from CMOrganizationCategoryVS (extensible)
* type ^short = "Catégorie d'établissement (TRE_R66) | Structure category"
* name 1..1 MS
* telecom MS
* address MS
* partOf MS
