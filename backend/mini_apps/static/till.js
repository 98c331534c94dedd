/* placeholder: the built page replaces this file */
