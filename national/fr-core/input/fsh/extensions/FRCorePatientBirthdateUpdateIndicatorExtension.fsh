Extension: FRCorePatientBirthdateUpdateIndicatorExtension
Id: fr-core-patient-birthdate-update-indicator
Title: "FR Core Patient Birthdate Update Indicator Extension"
Description: "Indicateur booléen de mise à jour de la date de naissance"
* ^context.type = #element
* ^context.expression = "Patient"
* value[x] only boolean


// NR (09112025) - Extension à supprimer ? Est-elle réellement utilisée ?
