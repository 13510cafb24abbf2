# Plain Python helpers with no dependency on the ORM: they are imported by the
# models and tested on their own, without a database.
